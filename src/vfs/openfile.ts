/**
 * A file open for writing (or written) through the view, shared by every
 * handle on its path: its content lives in a spool file on local disk; an
 * existing file's content is copied there on the first change (copy on
 * write), so writes at any offset, truncates and appends work. commit()
 * uploads the spool as a new fid with the file's attributes (create_open,
 * PUT, create_close: three round trips) and is what flush, fsync and close
 * run; its failure is the caller's error, and the spool stays until an upload
 * has succeeded.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { FileAttrs, FileEntry } from '../client';
import type { Logger } from '../common/log';
import { fail } from './errors';
import type { Keyspace } from './keyspace';
import type { Spool } from './spool';
import { fileStat, nowTimespec, S_IFREG } from './stat';
import type { Stat, StatDefaults } from './stat';
import { Streamer } from './streamer';

export interface OpenFileEnv {
  keyspace: Keyspace;
  spool: Spool;
  defaults: StatDefaults;
  log: Logger;
  /** Class for new files (the domain's default when undefined). */
  defaultClass?: string;
}

export class OpenFile {
  /** Handles open on this file. */
  refs = 0;
  /** Removed (unlink) while open: nothing is uploaded any more. */
  unlinked = false;
  /** The attributes the next commit stores (the stored ones, plus changes made since). */
  readonly attrs: FileAttrs;
  /** The class for the next upload (a new file's default, or set through user.mogilefs.class). */
  cls: string | undefined;
  /** Extended attributes set or removed (null) while the content is not uploaded yet. */
  readonly pendingXattrs = new Map<string, Buffer | null>();
  private spoolPath: string | null = null;
  private fh: FileHandle | null = null;
  private length: number;
  private loaded = false;
  private contentDirty: boolean;
  private attrsDirty = false;
  private loading: Promise<void> | null = null;
  private committing: Promise<FileEntry | null> | null = null;
  private streamer: Streamer | null = null;

  constructor(private readonly env: OpenFileEnv, public key: string, public base: FileEntry | null, createMode?: number) {
    const d = env.defaults;
    if (base === null) {
      const now = nowTimespec();
      this.attrs = { mode: S_IFREG | ((createMode ?? d.fileMode) & 0o7777), uid: d.uid, gid: d.gid, mtimeSec: now.sec, mtimeNsec: now.nsec };
      this.cls = env.defaultClass;
      this.length = 0;
      this.loaded = false;
      this.contentDirty = true; // a new file exists once committed, even empty
    } else {
      const s = fileStat(base, d);
      this.attrs = { mode: s.mode, uid: s.uid, gid: s.gid, mtimeSec: s.mtime.sec, mtimeNsec: s.mtime.nsec };
      if (base.attrs.symlink !== undefined) this.attrs.symlink = base.attrs.symlink;
      this.cls = base.class || undefined;
      this.length = base.length;
      this.contentDirty = false;
    }
  }

  get size(): number {
    return this.length;
  }

  /** Whether reads come from the spool (the stored copy is not what the file holds now, or not yet read). */
  get local(): boolean {
    return this.loaded;
  }

  get dirty(): boolean {
    return this.contentDirty || this.attrsDirty;
  }

  stat(): Stat {
    const entry: FileEntry = this.base ?? { key: this.key, fid: 0, length: 0, devcount: 0, class: '', attrs: {}, xattrs: 0 };
    return { ...fileStat({ ...entry, attrs: this.attrs }, this.env.defaults), size: this.length };
  }

  async write(buf: Buffer, pos: number): Promise<number> {
    if (this.unlinked && this.refs === 0) fail('EBADF', 'the file was removed');
    await this.ensureLoaded();
    const end = pos + buf.length;
    if (end > this.length) this.env.spool.grow(end - this.length);
    const { bytesWritten } = await (this.fh as FileHandle).write(buf, 0, buf.length, pos);
    if (end > this.length) this.length = end;
    this.streamer?.wrote(pos, bytesWritten, this.length);
    this.touched();
    return bytesWritten;
  }

  async read(len: number, pos: number): Promise<Buffer> {
    await this.ensureLoaded();
    const n = Math.max(0, Math.min(len, this.length - pos));
    if (n === 0) return Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(n);
    const { bytesRead } = await (this.fh as FileHandle).read(buf, 0, n, pos);
    return buf.subarray(0, bytesRead);
  }

  async truncate(size: number): Promise<void> {
    if (size === 0 && !this.loaded && !this.loading) {
      // Nothing of the old content survives: no need to fetch it.
      await this.startSpool();
    } else {
      await this.ensureLoaded();
    }
    if (size !== this.length) {
      this.env.spool.grow(size - this.length);
      await (this.fh as FileHandle).truncate(size);
      this.streamer?.truncated(size);
      this.length = size;
    }
    this.touched();
  }

  /** Attribute changes (chmod, chown, utimens, symlink target): stored with the next commit. */
  setAttrs(a: FileAttrs): void {
    Object.assign(this.attrs, a);
    this.attrsDirty = true;
  }

  /** Uploads what changed; resolves to the stored file (null when nothing was stored: removed, or unchanged). */
  commit(): Promise<FileEntry | null> {
    // One commit at a time; a commit asked for while one runs waits and then commits what is left.
    const run = (this.committing ?? Promise.resolve(null)).catch(() => null).then(() => this.commitNow());
    this.committing = run;
    return run;
  }

  /** Releases the spool. A file still dirty here could not be uploaded: its spool file is kept in failed/. */
  async close(): Promise<void> {
    this.streamer?.abort();
    this.streamer = null;
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    if (this.spoolPath === null) return;
    const p = this.spoolPath;
    this.spoolPath = null;
    if (this.contentDirty && !this.unlinked) {
      const kept = await this.env.spool.keepFailed(p, this.length, this.key);
      this.env.log.error({ key: this.key, kept }, 'upload never succeeded; the written content is kept in the spool');
    } else {
      await this.env.spool.remove(p, this.length);
    }
  }

  private async commitNow(): Promise<FileEntry | null> {
    if (this.unlinked || !this.dirty) return null;
    if (!this.contentDirty) {
      const base = this.base as FileEntry;
      const attrs = { ...this.attrs };
      if (!(await this.env.keyspace.setAttrs(this.key, base.fid, attrs))) {
        fail('EPERM', 'this tracker keeps no attributes (a stock MogileFS tracker): mode, owner and times cannot be stored');
      }
      this.attrsDirty = false;
      this.base = { ...base, key: this.key, attrs };
      return this.base;
    }
    await this.ensureLoaded();
    const carried = this.base && this.base.xattrs > 0 ? await this.env.keyspace.xattrs(this.key) : new Map<string, Buffer>();
    const attrs = { ...this.attrs };
    let entry: FileEntry | null = null;
    if (this.streamer) {
      entry = await this.streamer.finish(this.length, attrs).catch((e: unknown) => {
        this.env.log.warn({ key: this.key, err: (e as Error).message }, 'streamed upload failed; uploading from the spool');
        return null;
      });
      this.streamer = null;
    }
    entry ??= await this.env.keyspace.store(this.key, { path: this.spoolPath as string }, { class: this.cls, attrs });
    this.contentDirty = false;
    this.attrsDirty = false;
    for (const [name, value] of this.pendingXattrs) {
      if (value === null) carried.delete(name);
      else carried.set(name, value);
    }
    this.pendingXattrs.clear();
    for (const [name, value] of carried) await this.env.keyspace.setXattr(this.key, entry.fid, name, value);
    entry = { ...entry, class: this.cls ?? entry.class, xattrs: carried.size };
    this.base = entry;
    return entry;
  }

  private touched(): void {
    const now = nowTimespec();
    this.attrs.mtimeSec = now.sec;
    this.attrs.mtimeNsec = now.nsec;
    this.contentDirty = true;
  }

  /** Whether the content differs from what is stored (attribute changes then wait for the upload). */
  get uploadPending(): boolean {
    return this.contentDirty;
  }

  /** After the stored file changed outside a commit (attributes set, class changed): the new stored state. */
  stored(entry: FileEntry): void {
    this.base = entry;
    Object.assign(this.attrs, entry.attrs);
  }

  /** The file moved to `key` (rename): later uploads go there; a stream to the old key is given up. */
  retarget(key: string): void {
    this.key = key;
    this.streamer?.abort();
    this.streamer = null;
  }

  private async startSpool(): Promise<void> {
    if (this.fh) {
      await this.fh.truncate(0);
    } else {
      const s = await this.env.spool.create();
      this.spoolPath = s.path;
      this.fh = s.fh;
    }
    this.env.spool.grow(-this.length);
    this.length = 0;
    this.loaded = true;
    this.streamer = Streamer.maybe(this.env, this);
  }

  /** The spool holds the file's whole current content (copied from the storage nodes once, if it had any). */
  private ensureLoaded(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.loading ??= this.load().catch((e: unknown) => {
      this.loading = null;
      throw e;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const base = this.base;
    if (base === null || base.length === 0) {
      await this.startSpool();
      return;
    }
    const s = await this.env.spool.create();
    this.spoolPath = s.path;
    this.fh = s.fh;
    this.env.spool.grow(base.length);
    const out = createWriteStream('', { fd: s.fh.fd, autoClose: false, start: 0 });
    try {
      await pipeline(await this.env.keyspace.read(this.key, 0), out);
    } finally {
      if (!out.closed) {
        out.destroy();
        await once(out, 'close').catch(() => undefined);
      }
    }
    this.loaded = true;
  }

  /** The local spool file's path while it exists (the streamer reads what has been written from it). */
  get spoolFile(): FileHandle | null {
    return this.fh;
  }
}
