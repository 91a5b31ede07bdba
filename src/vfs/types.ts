/**
 * The filesystem view's contract, shared by every adapter (FUSE, WebDAV):
 * path-based operations on absolute paths ('/', '/a/b'), handles as numbers,
 * errors as VfsError with an errno name.
 */
import type { Stat, Timespec } from './stat';

export interface DirEntryStat {
  name: string;
  stat: Stat;
}

export interface StatFs {
  /** Block size the numbers below count in. */
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namemax: number;
}

export interface CreateOptions {
  /**
   * The writer writes in order and can send again on failure (a WebDAV
   * PUT): past what is held in memory the file streams to a storage node
   * with no spool copy, and a failed upload is an error, not a retry from disk.
   */
  streamOnly?: boolean;
}

/** A new mtime: a time, 'now', or null to leave it. */
export type MtimeChange = Timespec | 'now' | null;

export interface Vfs {
  getattr(path: string): Promise<Stat>;
  readdir(path: string): Promise<DirEntryStat[]>;
  mkdir(path: string, mode: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** POSIX rename: an existing target file, or empty target directory, is replaced. */
  rename(from: string, to: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  utimens(path: string, mtime: MtimeChange): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  /** Creates (or opens, when it appeared meanwhile) a file for writing; resolves to a handle. */
  create(path: string, mode: number, opts?: CreateOptions): Promise<number>;
  /** open(2) flags: O_ACCMODE, O_TRUNC, O_APPEND. */
  open(path: string, flags: number): Promise<number>;
  /** fstat: what the open handle's file is now (also after it was unlinked). */
  fgetattr(fh: number): Promise<Stat>;
  read(fh: number, len: number, pos: number): Promise<Buffer>;
  write(fh: number, buf: Buffer, pos: number): Promise<number>;
  ftruncate(fh: number, size: number): Promise<void>;
  /** Uploads what the handle's file has changed: errors here are what close(2) reports. */
  flush(fh: number): Promise<void>;
  fsync(fh: number): Promise<void>;
  release(fh: number): Promise<void>;
  /** Closes a handle and drops its uncommitted writes (an upload whose client went away). */
  discard(fh: number): Promise<void>;
  getxattr(path: string, name: string): Promise<Buffer>;
  /** flags: 1 XATTR_CREATE, 2 XATTR_REPLACE. */
  setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void>;
  listxattr(path: string): Promise<string[]>;
  removexattr(path: string, name: string): Promise<void>;
  statfs(): Promise<StatFs>;
  /** Commits and releases whatever is still open (at unmount). */
  close(): Promise<void>;
}

export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_TRUNC = 0o1000;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
