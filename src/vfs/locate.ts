/**
 * Where the bytes of a path are, for adapters that serve files by URL (the
 * gateway): the file a path names by the prefix scheme, its size, stored
 * mtime and replica URLs, in one tracker round trip on our tracker
 * (`mogfs_lookup` with `paths`), two in parallel on a stock one (file_info
 * and get_paths). Answers are kept for the cache time, as the mount keeps
 * its lookups, so a burst of requests for one image costs one lookup; what
 * this process writes or deletes is forgotten at once.
 */
import type { Readable } from 'node:stream';
import { entryFrom, MogError } from '../client';
import type { ByteRange, MogileFS, ReadFailure } from '../client';
import { keyOf, parsePath } from './names';
import { isSymlink, timeOf } from './stat';
import type { Timespec } from './stat';

/** A file as a URL serves it. */
export interface Located {
  key: string;
  fid: number;
  length: number;
  /** The stored mtime, or null where the tracker keeps none (a stock tracker, or a file stored without one). */
  mtime: Timespec | null;
  /** Target of a symbolic link (made through the mount), else undefined. */
  symlink?: string;
  /** Replica URLs, best first. */
  paths: string[];
  /** A strong entity tag: changes whenever the content (a new fid) or the mtime does. */
  etag: string;
}

/** How many replica URLs a lookup asks for: enough to fail over past a dead node or two. */
export const PATHS_WANTED = 4;
/** Most answers kept per domain; the oldest go first. */
const MAX_ENTRIES = 10_000;

/**
 * The entity tag WebDAV and the gateway give a file: fid, length and mtime,
 * hex. A MogileFS file never changes in place (a write is a new fid), so this
 * is strong without reading a byte.
 */
export function fileEtag(fid: number, length: number, mtime: Timespec | null): string {
  const m = mtime === null ? '' : `-${mtime.sec.toString(16)}${mtime.nsec ? `.${mtime.nsec.toString(16)}` : ''}`;
  return `"${fid.toString(16)}-${length.toString(16)}${m}"`;
}

interface Entry {
  expires: number;
  value: Promise<Located | null>;
}

export class Locator {
  private readonly cache = new Map<string, Entry>();

  /**
   * `base` is the key prefix the paths are under ('' or ending in '/');
   * `extensions` whether the tracker has our mogfs_* commands.
   */
  constructor(
    readonly client: MogileFS,
    private readonly base: string,
    private readonly extensions: boolean,
    private readonly cacheMs: number,
  ) {}

  /** The key a path ('/a/b.jpg', names as the mount shows them) names as a file, or null when it can name none. */
  keyOf(path: string): string | null {
    const ref = parsePath(path);
    if (!ref || ref.partial !== null || ref.segments.length === 0) return null;
    return keyOf(this.base, ref);
  }

  /** The file at `path`, or null (no such file, or a path no file can have). */
  locate(path: string): Promise<Located | null> {
    const key = this.keyOf(path);
    if (key === null) return Promise.resolve(null);
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.value;
    // A lookup in flight is shared; a failed one is not kept.
    const value = this.lookup(key);
    const entry: Entry = { expires: now + Math.max(this.cacheMs, 0), value };
    this.cache.delete(key);
    this.cache.set(key, entry);
    value.then(() => {
      // Done: with no cache time it must not answer the next request.
      if (this.cacheMs <= 0 && this.cache.get(key) === entry) this.cache.delete(key);
    }, () => {
      if (this.cache.get(key) === entry) this.cache.delete(key);
    });
    if (this.cache.size > MAX_ENTRIES) this.evict();
    return value;
  }

  /** Forget what is known of `key` (after this process wrote or deleted it). */
  forget(key: string): void {
    this.cache.delete(key);
  }

  /**
   * A read of the file's bytes (a range of them), failing over between its
   * replicas, earlier ones first; `onFailure` hears of each replica that failed.
   */
  read(paths: string[], range?: ByteRange, onFailure?: ReadFailure): Promise<Readable> {
    return this.client.getFromPaths(paths, range, { onFailure });
  }

  /** Whether stored files keep an mtime here (our tracker does, a stock one does not). */
  get keepsMtime(): boolean {
    return this.extensions;
  }

  /** Stores a stream as the file at `key`, with `mtime` as its modification time; resolves to its fid and length. */
  async store(key: string, body: Readable, size: number | undefined, mtime: Timespec): Promise<{ fid: number; length: number }> {
    try {
      const attrs = this.extensions ? { mtimeSec: mtime.sec, mtimeNsec: mtime.nsec } : undefined;
      const r = await this.client.storeStream(key, body, { size, attrs });
      return { fid: r.fid, length: r.size };
    } finally {
      this.forget(key);
    }
  }

  /** Deletes the file at `key`; false when there was none. */
  async remove(key: string): Promise<boolean> {
    try {
      await this.client.delete(key);
      return true;
    } catch (e) {
      if (e instanceof MogError && e.code === 'unknown_key') return false;
      throw e;
    } finally {
      this.forget(key);
    }
  }

  /** Drops the oldest tenth, so eviction runs once per thousand new keys rather than on every one. */
  private evict(): void {
    for (const k of this.cache.keys()) {
      if (this.cache.size <= MAX_ENTRIES * 0.9) return;
      this.cache.delete(k);
    }
  }

  private async lookup(key: string): Promise<Located | null> {
    try {
      return this.extensions ? await this.lookupOurs(key) : await this.lookupStock(key);
    } catch (e) {
      if (e instanceof MogError && e.code === 'unknown_key') return null;
      throw e;
    }
  }

  private async lookupOurs(key: string): Promise<Located | null> {
    const r = await this.client.tracker.call(
      'mogfs_lookup', { domain: this.client.domain, key, paths: PATHS_WANTED, nodir: 1 }, { idempotent: true },
    );
    if (r.file !== '1') return null;
    const f = entryFrom(r, 'file_');
    const paths: string[] = [];
    for (let i = 1; i <= Number(r.path_count ?? 0); i++) if (r[`path_${i}`]) paths.push(r[`path_${i}`]);
    const mtime = f.attrs.mtimeSec === undefined ? null : timeOf(f.attrs, { sec: 0, nsec: 0 });
    const symlink = f.attrs.mode !== undefined && isSymlink(f.attrs.mode) ? f.attrs.symlink ?? '' : undefined;
    return { key, fid: f.fid, length: f.length, mtime, symlink, paths, etag: fileEtag(f.fid, f.length, mtime) };
  }

  /** A stock tracker keeps no mtime: the tag is fid and length, and there is no Last-Modified. */
  private async lookupStock(key: string): Promise<Located | null> {
    const [info, paths] = await Promise.all([
      this.client.fileInfo(key),
      this.client.getPaths(key, { noverify: true, pathcount: PATHS_WANTED }),
    ]);
    return { key, fid: info.fid, length: info.length, mtime: null, paths, etag: fileEtag(info.fid, info.length, null) };
  }
}
