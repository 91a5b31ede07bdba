// The MogileFS client library: a tracker client with failover and pooled
// connections, file store/read through undici (MogileFS), and the admin calls
// mogadm makes (MogileFSAdmin). The CLI, the bridge and the tests all use it.
export { TrackerClient } from './tracker';
export type { TrackerClientOptions, CallOptions, CallArgs, ArgValue } from './tracker';
export { MogileFS } from './files';
export type { OpenUpload } from './files';
export { createAgent } from './http';
export type { ReadFailure } from './download';
export { MogileFSAdmin } from './admin';
export type { ClassInfo, DomainInfo, HostInfo, DeviceInfo, ClassOptions, HostOptions } from './admin';
export type {
  MogileFSOptions, StoreOptions, StoreStreamOptions, StoreResult, GetPathsOptions, GetOptions, ByteRange,
  FileInfo, KeyListing, FidInfo,
} from './types';
export * from './attrs';
export { MogError, isMogError } from '../protocol';
export * from './tree';
