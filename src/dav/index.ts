// The WebDAV adapter: a domain (or every domain) as a network drive, over
// the same Vfs the FUSE mount serves. Class 1 and 2; see server.ts.
export { startDav } from './server';
export type { DavOptions, DavServer } from './server';
export { setUser, readUsers } from './auth';
