/**
 * One domain (or a key prefix inside it) as a tree: resolving paths to what
 * they name, directory contents, and the caches that make both cheap. A
 * readdir is one listing per 1000 entries with every entry's attributes, and
 * a lookup in a directory whose listing is fresh costs no round trip. Our
 * own changes patch the caches at once; other mounts' show within the TTL.
 */
import type { FileEntry, KeyLookup } from '../client';
import type { Logger } from '../common/log';
import { TtlCache } from './cache';
import { fail } from './errors';
import { isMarker } from './keyspace';
import type { Keyspace } from './keyspace';
import { keyOf, listingPrefix, MARKER, parsePath, showEntries } from './names';
import type { PathRef, RawEntry } from './names';
import { OpenFile } from './openfile';
import type { OpenFileEnv } from './openfile';
import type { Spool } from './spool';
import { dirStat, fileStat, nowTimespec, S_IFDIR } from './stat';
import type { Stat, StatDefaults } from './stat';
import type { DirEntryStat } from './types';

export interface DomainOptions {
  keyspace: Keyspace;
  /** Key prefix the tree starts at: '' or ending in '/'. */
  base: string;
  spool: Spool;
  defaults: StatDefaults;
  log: Logger;
  /** How long listings and lookups are trusted, ms (0: never cached). */
  cacheMs: number;
  defaultClass?: string;
  readOnly?: boolean;
}

/** One directory level as listed: files and subdirectories by their text after the prefix. */
export interface DirContent {
  /** This directory's own marker. */
  own: FileEntry | null;
  files: Map<string, FileEntry>;
  dirs: Map<string, FileEntry | null>;
}

/** What the view knows of a read-only handle on a stored file (handles.ts owns it). */
export interface ReadHandle {
  key: string;
  entry: FileEntry | null;
  reader: { close(): void } | null;
  /** Set once the handle reads a file's local copy instead (detach(), or a writer on the same file). */
  file: OpenFile | null;
}

/** An open file unlinked while open keeps a local copy of at most this much for its handles. */
const DETACH_COPY_MAX = 256 * 1024 * 1024;

export type Node =
  /** A directory (the root too): `prefix` is its listing prefix, '' or ending in '/'. */
  | { kind: 'dir'; prefix: string; marker: FileEntry | null; root: boolean }
  /** Part of an over-long name: a directory to walk through, nothing to change. */
  | { kind: 'cont'; prefix: string }
  /** A stored file, or one being written (`open`). */
  | { kind: 'file'; key: string; entry: FileEntry | null; open: OpenFile | null };

export class DomainView {
  readonly keyspace: Keyspace;
  readonly base: string;
  readonly log: Logger;
  readonly defaults: StatDefaults;
  readonly readOnly: boolean;
  readonly fileEnv: OpenFileEnv;
  /** Files open for writing (or being written), by key. */
  readonly openFiles = new Map<string, OpenFile>();
  /**
   * Read-only handles on stored files: tree.ts moves their key with a
   * rename, so each reads the file it opened; a commit (handles.ts) points
   * them at the new content.
   */
  readonly readers = new Set<ReadHandle>();
  /**
   * Files removed while open, by the name libfuse hid them under
   * (`.fuse_hidden*`, see tree.ts): only this mount's handles still use them,
   * so they live here and nowhere in MogileFS, and no listing shows them.
   */
  readonly ghosts = new Map<string, OpenFile>();
  private readonly listings: TtlCache<string, DirContent>;
  private readonly lookups: TtlCache<string, KeyLookup>;

  constructor(opts: DomainOptions) {
    this.keyspace = opts.keyspace;
    this.base = opts.base;
    this.log = opts.log;
    this.defaults = opts.defaults;
    this.readOnly = opts.readOnly === true;
    this.listings = new TtlCache(opts.cacheMs);
    this.lookups = new TtlCache(opts.cacheMs);
    this.fileEnv = { keyspace: opts.keyspace, spool: opts.spool, defaults: opts.defaults, log: opts.log, defaultClass: opts.defaultClass };
  }

  parse(path: string): PathRef {
    return parsePath(path) ?? fail('ENOENT', `no key maps to ${path}`);
  }

  /** What `ref` names, or null. */
  async node(ref: PathRef): Promise<Node | null> {
    if (ref.partial !== null) {
      const prefix = listingPrefix(this.base, ref);
      return (await this.entries(ref)).length > 0 ? { kind: 'cont', prefix } : null;
    }
    if (ref.segments.length === 0) {
      const c = this.listings.get(this.base);
      const marker = c ? c.own : (await this.lookupKey(this.base + MARKER)).file;
      return { kind: 'dir', prefix: this.base, marker: marker && isMarker(marker) ? marker : null, root: true };
    }
    const key = keyOf(this.base, ref);
    const ghost = this.ghosts.get(key);
    if (ghost) return { kind: 'file', key, entry: null, open: ghost };
    const last = ref.segments[ref.segments.length - 1];
    const parent = parentPrefix(key, this.base);
    const cached = this.listings.get(parent);
    const found: KeyLookup = cached
      ? { file: cached.files.get(last) ?? null, dir: cached.dirs.has(last), marker: cached.dirs.get(last) ?? null }
      : await this.lookupKey(key);
    const open = this.openFiles.get(key) ?? null;
    if (ref.fileForm) return found.file && found.dir ? { kind: 'file', key, entry: found.file, open } : null;
    if (found.dir) return { kind: 'dir', prefix: key + '/', marker: found.marker, root: false };
    if (open) return { kind: 'file', key, entry: found.file, open };
    if (!found.file || (last === MARKER && isMarker(found.file))) return null;
    return { kind: 'file', key, entry: found.file, open: null };
  }

  async need(path: string): Promise<{ ref: PathRef; node: Node }> {
    const ref = this.parse(path);
    const node = await this.node(ref);
    if (!node) fail('ENOENT', `${path} does not exist`);
    return { ref, node };
  }

  stat(node: Node): Stat {
    if (node.kind === 'dir') return dirStat(node.marker, this.defaults);
    if (node.kind === 'cont') return dirStat(null, this.defaults);
    if (node.open && !node.open.showsStored) return node.open.stat();
    if (node.open) return fileStat(node.open.base as FileEntry, this.defaults);
    return fileStat(node.entry as FileEntry, this.defaults);
  }

  /** A directory's entries with their stats, as readdir shows them. */
  async entries(ref: PathRef): Promise<DirEntryStat[]> {
    const prefix = listingPrefix(this.base, ref);
    const c = await this.content(prefix);
    type V = { key: string; file: FileEntry | null; marker: FileEntry | null };
    const raw: RawEntry<V>[] = [];
    for (const [rest, f] of c.files) raw.push({ rest, isDir: false, value: { key: f.key, file: f, marker: null } });
    for (const [rest, m] of c.dirs) raw.push({ rest, isDir: true, value: { key: prefix + rest, file: null, marker: m } });
    // Files being written here that are not uploaded yet exist too.
    for (const key of this.openFiles.keys()) {
      const rest = key.slice(prefix.length);
      if (key.startsWith(prefix) && !rest.includes('/') && !c.files.has(rest)) raw.push({ rest, isDir: false, value: { key, file: null, marker: null } });
    }
    return showEntries(ref, raw).map((e) => {
      let stat: Stat;
      if (e.continuation) stat = dirStat(null, this.defaults);
      else if (e.isDir) stat = dirStat(e.value.marker, this.defaults);
      else {
        const of = this.openFiles.get(e.value.key);
        stat = of && !of.showsStored ? of.stat() : fileStat((of?.base ?? e.value.file) as FileEntry, this.defaults);
      }
      return { name: e.name, stat };
    });
  }

  /** One directory level under `prefix` (cached unless `fresh`); this directory's own marker set apart. */
  async content(prefix: string, fresh = false): Promise<DirContent> {
    const cached = fresh ? undefined : this.listings.get(prefix);
    if (cached) return cached;
    const l = await this.keyspace.list(prefix);
    const c: DirContent = { own: null, files: new Map(), dirs: new Map() };
    for (const f of l.files) {
      const rest = f.key.slice(prefix.length);
      if (rest === MARKER && isMarker(f) && (prefix === '' || prefix.endsWith('/'))) c.own = f;
      else c.files.set(rest, f);
    }
    for (const d of l.dirs) c.dirs.set(d.key.slice(prefix.length, -1), d.marker);
    this.listings.set(prefix, c);
    return c;
  }

  /** Whether a directory shows nothing (its marker aside), asked fresh. */
  async isEmpty(prefix: string): Promise<boolean> {
    for (const key of this.openFiles.keys()) if (key.startsWith(prefix)) return false;
    return !(await this.keyspace.hasEntries(prefix));
  }

  private async lookupKey(key: string): Promise<KeyLookup> {
    const cached = this.lookups.get(key);
    if (cached) return cached;
    const r = await this.keyspace.lookup(key);
    this.lookups.set(key, r);
    return r;
  }

  /** After our change to file `key`: the stored file is now `entry` (null: gone). */
  noteFile(key: string, entry: FileEntry | null): void {
    const parent = parentPrefix(key, this.base);
    const rest = key.slice(parent.length);
    const c = this.listings.get(parent);
    if (c) {
      if (entry) c.files.set(rest, entry);
      else c.files.delete(rest);
    }
    const l = this.lookups.get(key);
    if (l) this.lookups.set(key, { ...l, file: entry });
  }

  /** After our change to directory `prefix` (ending in '/'): it exists with `marker`, or is gone. */
  noteDir(prefix: string, exists: boolean, marker: FileEntry | null): void {
    const key = prefix.slice(0, -1);
    const parent = parentPrefix(key, this.base);
    const c = this.listings.get(parent);
    if (c) {
      if (exists) c.dirs.set(key.slice(parent.length), marker);
      else c.dirs.delete(key.slice(parent.length));
    }
    const l = this.lookups.get(key);
    if (l) this.lookups.set(key, { ...l, dir: exists, marker });
    const own = this.listings.get(prefix);
    if (!exists) this.listings.delete(prefix);
    else if (own) own.own = marker;
    if (prefix === this.base) this.lookups.delete(this.base + MARKER);
  }

  /** A directory we just made is empty: no need to ask what is in it. */
  noteEmptyDir(prefix: string, marker: FileEntry | null): void {
    this.listings.set(prefix, { own: marker, files: new Map(), dirs: new Map() });
  }

  /** Forget everything cached at or below `prefix` and in its parent listing. */
  forgetTree(prefix: string): void {
    this.listings.deleteWhere((p) => p.startsWith(prefix));
    this.lookups.deleteWhere((k) => k.startsWith(prefix) || k === prefix.slice(0, -1));
    this.listings.delete(parentPrefix(prefix.slice(0, -1), this.base));
  }

  /**
   * A directory must outlive its last entry (rm then rmdir, mv out): when
   * `prefix` has no marker and nothing left in it, one is made.
   */
  async keepDir(prefix: string): Promise<void> {
    if (prefix === this.base) return;
    // The ref is built from the key's segments, not parsed from them as a path: a
    // segment that shows escaped ('', '.', '..', '%%x', over 255 bytes) is no path
    // component, and parsing it failed (ENOENT after the change was already made)
    // or named another directory (`a//` read as `a`).
    const ref: PathRef = { segments: prefix.slice(this.base.length, -1).split('/'), partial: null, partialComponents: [], fileForm: false };
    const node = await this.node(ref).catch(() => null);
    if (node?.kind === 'dir' && node.marker) return;
    if (!(await this.isEmpty(prefix))) return;
    const now = nowTimespec();
    const d = this.defaults;
    const marker = await this.keyspace.store(prefix + MARKER, { buffer: Buffer.alloc(0) }, {
      attrs: { mode: S_IFDIR | d.dirMode, uid: d.uid, gid: d.gid, mtimeSec: now.sec, mtimeNsec: now.nsec },
    });
    this.noteDir(prefix, true, marker);
    this.noteEmptyDir(prefix, marker);
  }

  /**
   * Before `key` is removed or replaced while handles are open on it: they
   * keep reading (and writing) what they opened, from a local copy (the
   * stored copies are deleted soon), and nothing they do is uploaded any more.
   * A file over DETACH_COPY_MAX is not copied: its handles may fail to read
   * once the delete worker has removed its replicas.
   */
  async detach(key: string): Promise<OpenFile | null> {
    const readers = [...this.readers].filter((r) => r.key === key && r.file === null);
    let of = this.openFiles.get(key) ?? null;
    if (!of && readers.length === 0) return null;
    of ??= new OpenFile(this.fileEnv, key, readers[0].entry);
    const size = of.base?.length ?? 0;
    if (size <= DETACH_COPY_MAX) {
      await of.keepLocal();
    } else {
      this.log.warn({ key, size }, 'a large file removed while open is not copied: its open handles may fail to read it');
    }
    for (const r of readers) {
      r.reader?.close();
      r.reader = null;
      r.file = of;
      of.refs++;
      this.readers.delete(r);
    }
    of.unlinked = true;
    if (this.openFiles.get(key) === of) this.openFiles.delete(key);
    return of;
  }

  /** The open-file state for `key`, made when absent (from the stored `entry`, or a new file). */
  openFile(key: string, entry: FileEntry | null, createMode?: number): OpenFile {
    let of = this.openFiles.get(key);
    if (!of) {
      of = new OpenFile(this.fileEnv, key, entry, createMode);
      this.openFiles.set(key, of);
    }
    return of;
  }

  checkWritable(): void {
    if (this.readOnly) fail('EROFS', 'mounted read-only');
  }
}

/** The listing prefix of the directory holding `key`. */
export function parentPrefix(key: string, base: string): string {
  const i = key.lastIndexOf('/');
  return i < base.length ? base : key.slice(0, i + 1);
}
