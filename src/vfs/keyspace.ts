/**
 * The keys of one domain as the view needs them, over the client library:
 * one round trip per listing page or lookup on our tracker (its mogfs_*
 * commands), and the stock commands against a stock tracker, which cost more
 * (list_keys walks every key below a directory, file_info per entry) and
 * keep no attributes. Nothing here caches; cache.ts does.
 */
import type { Readable } from 'node:stream';
import {
  getAttrs, getXattrs, listDir, lookupKey, MogError, renameDir, renameDirStock, renameKey, renameKeyStock, setAttrs, setXattr,
} from '../client';
import type { FileAttrs, FileEntry, KeyLookup, MogileFS, TrackerClient } from '../client';
import { isMog } from './errors';
import { MARKER } from './names';
import { isDir } from './stat';
import { UploadPool } from './uploads';
import type { Logger } from '../common/log';

/** A directory level: the files directly under the prefix, and each subdirectory with its marker, if any. */
export interface Listing {
  files: FileEntry[];
  dirs: Array<{ key: string; marker: FileEntry | null }>;
}

/** Whether a stored file is a directory marker (zero length, and a directory mode or none). */
export function isMarker(f: FileEntry): boolean {
  return f.length === 0 && (f.attrs.mode === undefined || isDir(f.attrs.mode));
}

const STOCK_INFO_PARALLEL = 16;

export class Keyspace {
  private readonly uploads: UploadPool;

  constructor(readonly client: MogileFS, readonly extensions: boolean, log: Logger) {
    this.uploads = new UploadPool(client, log);
  }

  /** Gives back what was opened ahead and not used. */
  close(): Promise<void> {
    return this.uploads.close();
  }

  /**
   * Whether the tracker has our extensions: a stock one answers
   * unknown_command; ours answers anything else (here no_domain, as the
   * probe names none).
   */
  static async probe(tracker: TrackerClient): Promise<boolean> {
    try {
      await tracker.call('mogfs_lookup', { key: MARKER }, { idempotent: true });
      return true;
    } catch (e) {
      if (isMog(e, 'unknown_command')) return false;
      if (e instanceof MogError && !['tracker_io', 'tracker_timeout', 'no_tracker'].includes(e.code)) return true;
      throw e;
    }
  }

  /** Every entry of one directory level, all pages. */
  async list(prefix: string): Promise<Listing> {
    if (!this.extensions) return this.listStock(prefix);
    const out: Listing = { files: [], dirs: [] };
    let after: string | undefined;
    for (;;) {
      const page = await listDir(this.client, prefix, { after, marker: MARKER });
      for (const e of page.entries) {
        if (e.type === 'file') out.files.push(e.file);
        else if (e.type === 'dir') out.dirs.push({ key: e.key, marker: null });
        else if (out.dirs.length > 0 && isMarker(e.file)) out.dirs[out.dirs.length - 1].marker = e.file;
      }
      if (page.nextAfter === null) return out;
      after = page.nextAfter;
    }
  }

  /**
   * A stock tracker has no one-level listing: list_keys walks every key
   * below the prefix, and sizes come from file_info, one request per file.
   */
  private async listStock(prefix: string): Promise<Listing> {
    const fileKeys: string[] = [];
    const dirs = new Map<string, string | null>();
    for await (const k of this.client.keys(prefix)) {
      const i = k.indexOf('/', prefix.length);
      if (i < 0) {
        fileKeys.push(k);
        continue;
      }
      const dir = k.slice(0, i + 1);
      if (!dirs.has(dir)) dirs.set(dir, null);
      if (k === dir + MARKER) dirs.set(dir, k);
    }
    const wanted = [...fileKeys, ...[...dirs.values()].filter((k): k is string => k !== null)];
    const entries = new Map<string, FileEntry>();
    for (let i = 0; i < wanted.length; i += STOCK_INFO_PARALLEL) {
      const batch = wanted.slice(i, i + STOCK_INFO_PARALLEL);
      const got = await Promise.all(batch.map((k) => this.file(k)));
      got.forEach((f) => { if (f) entries.set(f.key, f); });
    }
    const files = fileKeys.map((k) => entries.get(k)).filter((f): f is FileEntry => f !== undefined);
    const list = [...dirs].map(([key, m]) => {
      const marker = m === null ? undefined : entries.get(m);
      return { key, marker: marker && isMarker(marker) ? marker : null };
    });
    return { files, dirs: list };
  }

  /** The stored file under `key` with its attributes, or null. */
  async file(key: string): Promise<FileEntry | null> {
    try {
      return await getAttrs(this.client, key);
    } catch (e) {
      if (isMog(e, 'unknown_key')) return null;
      throw e;
    }
  }

  /** What `key` names: a file, a directory, and the directory's marker. */
  async lookup(key: string): Promise<KeyLookup> {
    if (key === '') {
      // The directory `%%` at the top of a whole-domain mount (keys starting with '/'): no file
      // can have the empty key, and trackers refuse to look it up (no_key, which was EIO once
      // the root listing was no longer cached), so ask only what is below it.
      const below = await this.hasKeysBelow('/');
      const m = below ? await this.file(`/${MARKER}`) : null;
      return { file: null, dir: below, marker: m && isMarker(m) ? m : null };
    }
    if (this.extensions) {
      const r = await lookupKey(this.client, key, MARKER);
      return { ...r, marker: r.marker && isMarker(r.marker) ? r.marker : null };
    }
    const [file, below] = await Promise.all([this.file(key), this.hasKeysBelow(`${key}/`)]);
    const m = below ? await this.file(`${key}/${MARKER}`) : null;
    return { file, dir: below, marker: m && isMarker(m) ? m : null };
  }

  /**
   * Whether anything but the directory's own marker is under `prefix` (a
   * directory prefix, ending in '/'): two entries at most are asked for, so
   * emptying a large directory one file at a time stays linear.
   */
  async hasEntries(prefix: string): Promise<boolean> {
    const own = prefix + MARKER;
    if (this.extensions) {
      const page = await listDir(this.client, prefix, { limit: 2 });
      return page.entries.some((e) => e.type === 'dir' || (e.type === 'file' && !(e.file.key === own && isMarker(e.file))));
    }
    for await (const k of this.client.keys(prefix, { pageSize: 2 })) if (k !== own) return true;
    return false;
  }

  private async hasKeysBelow(prefix: string): Promise<boolean> {
    for await (const _ of this.client.keys(prefix, { pageSize: 1 })) return true;
    return false;
  }

  /** Stores a file from a local path, a stream or a buffer, with its attributes; resolves to what was stored. */
  async store(
    key: string,
    src: { path: string } | { stream: Readable } | { buffer: Buffer },
    opts: { class?: string; attrs: FileAttrs | (() => FileAttrs) },
  ): Promise<FileEntry> {
    // A small file of the default class takes an upload opened ahead (uploads.ts).
    const upload = 'buffer' in src && opts.class === undefined ? this.uploads.take() : undefined;
    const storeOpts = { class: opts.class, attrs: this.extensions ? opts.attrs : undefined, upload };
    const r = 'path' in src ? await this.client.storeFile(key, src.path, storeOpts)
      : 'stream' in src ? await this.client.storeStream(key, src.stream, storeOpts)
        : await this.client.storeBuffer(key, src.buffer, storeOpts);
    const attrs = !this.extensions ? {} : typeof opts.attrs === 'function' ? opts.attrs() : opts.attrs;
    return { key, fid: r.fid, length: r.size, devcount: 1, class: opts.class || 'default', attrs, xattrs: 0 };
  }

  async remove(key: string): Promise<void> {
    await this.client.delete(key);
  }

  /** POSIX rename of one key: an existing target is replaced (atomically on our tracker). */
  async rename(from: string, to: string): Promise<void> {
    if (this.extensions) await renameKey(this.client, from, to, { replace: true });
    else await renameKeyStock(this.client, from, to, { replace: true });
  }

  /** Every key under `from` moves under `to` (both end in '/'): one atomic call on our tracker. */
  async renameDir(from: string, to: string): Promise<number> {
    return this.extensions ? renameDir(this.client, from, to) : renameDirStock(this.client, from, to);
  }

  /** Sets attributes of the stored file `fid` under `key`; EPERM-worthy false on a stock tracker. */
  async setAttrs(key: string, fid: number, attrs: FileAttrs): Promise<boolean> {
    if (!this.extensions) return false;
    return setAttrs(this.client, key, attrs, { fid });
  }

  async xattrs(key: string): Promise<Map<string, Buffer>> {
    if (!this.extensions) return new Map();
    return getXattrs(this.client, key);
  }

  async setXattr(key: string, fid: number, name: string, value: Buffer | null): Promise<boolean> {
    if (!this.extensions) return false;
    return setXattr(this.client, key, name, value, { fid });
  }

  async updateClass(key: string, cls: string): Promise<void> {
    await this.client.updateClass(key, cls);
  }

  async paths(key: string): Promise<string[]> {
    return this.client.getPaths(key, { noverify: true });
  }

  /** Opens a read of `key` from byte `start` (a stream failing over between replicas). */
  read(key: string, start: number): Promise<Readable> {
    return this.client.get(key, { range: { start } });
  }
}
