/**
 * What the client library takes and returns, in MogileFS's vocabulary
 * (key, class, fid, devid, devcount, path = a storage node URL).
 */
import type { Dispatcher } from 'undici';
import type { TrackerClient } from './tracker';
import type { FileAttrs } from './attrs';
import type { OpenUpload } from './files';

export interface MogileFSOptions {
  /** "host:port" of each tracker; or pass `tracker` to share one client's connections. */
  trackers?: string[];
  tracker?: TrackerClient;
  /** The domain every key of this client lives in. */
  domain: string;
  /** Tracker request timeout, ms (default 10000). */
  timeoutMs?: number;
  /** A storage node that sends or takes no bytes for this long fails the transfer, ms (default 30000). */
  httpTimeoutMs?: number;
  /** Share an undici dispatcher (keep-alive pool) between clients; by default each client has its own. */
  dispatcher?: Dispatcher;
}

export interface StoreOptions {
  /** Class of the new file; the domain's default class when omitted. */
  class?: string;
  /** Compute MD5 while uploading and send it to create_close as `checksum=MD5:<hex>`. */
  checksum?: boolean;
  /** Ask the tracker to re-read the stored copy and compare the MD5 (slow; implies checksum). */
  checksumVerify?: boolean;
  /**
   * Attributes to keep with the new file (our tracker's extension, sent with
   * create_close and stored in the same transaction; a stock tracker ignores
   * them). A function is called when create_close is sent, after the upload:
   * a writer still changing them while the bytes stream gives the final ones.
   */
  attrs?: FileAttrs | (() => FileAttrs);
  /** An upload opened ahead of need (MogileFS.openUpload), used instead of a create_open; its class wins. */
  upload?: OpenUpload;
}

export interface StoreStreamOptions extends StoreOptions {
  /** Byte length, when known: sent as Content-Length and checked by the storage node. */
  size?: number;
}

export interface StoreResult {
  key: string;
  fid: number;
  /** The device the upload went to (replication copies it to the others). */
  devid: number;
  path: string;
  size: number;
  /** `MD5:<hex>` when a checksum was asked for. */
  checksum?: string;
}

export interface GetPathsOptions {
  /** Skip the tracker's size check of the first path (faster, as Perlbal users do). */
  noverify?: boolean;
  /** How many paths to ask for (the tracker's default and minimum is 2). */
  pathcount?: number;
  /** 'alt' to get paths on each host's alternative IP. */
  zone?: string;
}

/** Byte range of a read; `end` is inclusive, as in HTTP Range, and defaults to the end of the file. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface GetOptions extends GetPathsOptions {
  range?: ByteRange;
}

export interface FileInfo {
  fid: number;
  domain: string;
  class: string;
  key: string;
  length: number;
  devcount: number;
  /** `MD5:<hex>` or `MISSING`, only for classes with a hashtype. */
  checksum?: string;
  /** Only when asked for with `devices: true`. */
  devids?: number[];
}

export interface KeyListing {
  keys: string[];
  /** Pass as `after` to get the next page; null when nothing matched. */
  nextAfter: string | null;
}

/** One row of list_fids. */
export interface FidInfo {
  fid: number;
  domain: string;
  class: string;
  key: string;
  length: number;
  devcount: number;
}
