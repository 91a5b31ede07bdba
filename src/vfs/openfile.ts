/**
 * A file open for writing (or written) through the view, shared by every
 * handle on its path: its content lives locally (content.ts: in memory while
 * small, else in a spool file); an existing file's content is copied there on
 * the first change (copy on write), so writes at any offset, truncates and
 * appends work. commit() uploads it as a new fid with the file's attributes
 * (create_open, PUT, create_close: three round trips) and is what flush,
 * fsync and close run; its failure is the caller's error, and the local copy
 * stays until an upload has succeeded.
 */
import type { FileAttrs, FileEntry } from '../client';
import { FileContent, MEM_FILE_MAX, MemContent, StreamedContent } from './content';
import type { Content } from './content';
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
  /** The file's bytes, once loaded (or started empty); null while the stored copy is all there is. */
  private content: Content | null = null;
  private length: number;
  /** Every write so far continued where the last ended, from 0 (a streamer may follow it). */
  private sequential = true;
  private contentDirty: boolean;
  private attrsDirty = false;
  private loading: Promise<void> | null = null;
  private committing: Promise<FileEntry | null> | null = null;
  private streamer: Streamer | null = null;
  /** Set by a writer that can resend (create's streamOnly): past memory, the file streams with no spool copy. */
  streamOnly = false;

  constructor(private readonly env: OpenFileEnv, public key: string, public base: FileEntry | null, createMode?: number) {
    const d = env.defaults;
    if (base === null) {
      const now = nowTimespec();
      this.attrs = { mode: S_IFREG | ((createMode ?? d.fileMode) & 0o7777), uid: d.uid, gid: d.gid, mtimeSec: now.sec, mtimeNsec: now.nsec };
      this.cls = env.defaultClass;
      this.length = 0;
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

  /** Whether reads come from the local copy (the stored one is not what the file holds now). */
  get local(): boolean {
    return this.content !== null;
  }

  get dirty(): boolean {
    return this.contentDirty || this.attrsDirty;
  }

  /**
   * A whole new content streaming in over a stored file (streamOnly): until
   * it is stored, others see the stored file, as after an atomic replace.
   */
  get showsStored(): boolean {
    return this.streamOnly && this.base !== null && this.contentDirty;
  }

  stat(): Stat {
    const entry: FileEntry = this.base ?? { key: this.key, fid: 0, length: 0, devcount: 0, class: '', attrs: {}, xattrs: 0 };
    return { ...fileStat({ ...entry, attrs: this.attrs }, this.env.defaults), size: this.length };
  }

  async write(buf: Buffer, pos: number): Promise<number> {
    if (this.unlinked && this.refs === 0) fail('EBADF', 'the file was removed');
    await this.ensureLoaded();
    const end = pos + buf.length;
    if (pos !== this.length) this.sequential = false;
    await this.room(end);
    const n = await (this.content as Content).write(buf, pos);
    this.length = (this.content as Content).size;
    this.touched();
    // Passed on to a running upload; a writer ahead of it waits here.
    await this.streamer?.wrote(pos, buf.subarray(0, n), this.length);
    return n;
  }

  async read(len: number, pos: number): Promise<Buffer> {
    await this.ensureLoaded();
    return (this.content as Content).read(len, pos);
  }

  async truncate(size: number): Promise<void> {
    if (size === 0 && !this.content && !this.loading) {
      // Nothing of the old content survives: no need to fetch it.
      this.start(new MemContent(this.env.spool));
    } else {
      await this.ensureLoaded();
    }
    if (size !== this.length) {
      await this.room(size);
      await (this.content as Content).truncate(size);
      this.streamer?.truncated(size);
      if (size !== this.length) this.sequential = this.sequential && size > this.length;
      this.length = size;
    }
    this.touched();
  }

  /** Copies the stored content here, if it is not yet (the stored copy is about to go). */
  async keepLocal(): Promise<void> {
    if (this.base && this.base.length > 0) await this.ensureLoaded();
  }

  /** Makes sure the content can hold `end` bytes: a small file that outgrows memory moves to the spool. */
  private async room(end: number): Promise<void> {
    const c = this.content;
    if (!(c instanceof MemContent) || c.fits(end)) return;
    const bytes = c.bytes();
    if (this.streamOnly && this.sequential && !this.streamer) {
      this.streamer = new Streamer(this.env.keyspace, this, bytes);
      this.content = new StreamedContent(bytes.length);
      await c.close(null);
      return;
    }
    const file = await FileContent.create(this.env.spool, bytes);
    await c.close(null);
    this.content = file;
    // A file written in order so far starts uploading now, and streams from here on.
    if (this.sequential && !this.streamer) this.streamer = new Streamer(this.env.keyspace, this, bytes);
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

  /** Drops what was written and not committed (an upload its client abandoned): nothing is uploaded or kept. */
  async discard(): Promise<void> {
    this.streamer?.abort();
    this.streamer = null;
    const c = this.content;
    this.content = null;
    if (c) await c.close(null);
  }

  /** Releases the local copy. A file still dirty here could not be uploaded: its bytes are kept in the spool's failed/. */
  async close(): Promise<void> {
    this.streamer?.abort();
    this.streamer = null;
    const c = this.content;
    this.content = null;
    if (!c) return;
    const kept = await c.close(this.contentDirty && !this.unlinked ? this.key : null);
    if (kept) this.env.log.error({ key: this.key, kept }, 'upload never succeeded; the written content is kept in the spool');
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
    entry ??= await this.env.keyspace.store(this.key, (this.content as Content).source(), { class: this.cls, attrs });
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

  /** Starts the local copy empty (a new file, or one truncated to nothing). */
  private start(c: Content): void {
    this.content = c;
    this.length = 0;
    this.sequential = true;
  }

  /** The local copy holds the file's whole current content (read from the storage nodes once, if it had any). */
  private ensureLoaded(): Promise<void> {
    if (this.content) return Promise.resolve();
    this.loading ??= this.load().catch((e: unknown) => {
      this.loading = null;
      throw e;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const base = this.base;
    if (base === null || base.length === 0) {
      this.start(new MemContent(this.env.spool));
      return;
    }
    const mem = new MemContent(this.env.spool);
    const c: Content = base.length <= MEM_FILE_MAX && mem.fits(base.length) ? mem : await FileContent.create(this.env.spool);
    let at = 0;
    try {
      for await (const chunk of await this.env.keyspace.read(this.key, 0)) {
        const buf = chunk as Buffer;
        if (c instanceof MemContent && !c.fits(at + buf.length)) throw new Error(`${this.key} is longer than it was said to be`);
        at += await c.write(buf, at);
      }
    } catch (e) {
      await c.close(null);
      throw e;
    }
    this.content = c;
    this.sequential = false;
  }

}
