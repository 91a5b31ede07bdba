/**
 * Open handles: create, open, read, write, truncate, flush, fsync, release.
 * A handle that writes shares its file's spool (OpenFile) with every other
 * handle on the same path; a read-only handle on a stored file reads it from
 * the storage nodes (Reader). flush and fsync upload what changed, and their
 * errors are what close(2) and fsync(2) report; release uploads anything
 * left and frees the spool.
 */
import type { FileEntry } from '../client';
import { errnoOf, fail } from './errors';
import type { DomainView } from './domain';
import { creatable, keyOf } from './names';
import type { OpenFile } from './openfile';
import { Reader } from './reader';
import { fileStat } from './stat';
import type { Stat } from './stat';
import { O_ACCMODE, O_RDONLY, O_TRUNC } from './types';
import type { CreateOptions } from './types';

interface Handle {
  view: DomainView;
  key: string;
  /** The shared write state, for a writable handle or a file being written. */
  file: OpenFile | null;
  writable: boolean;
  /** A read-only handle's stored file. */
  entry: FileEntry | null;
  reader: Reader | null;
}

/** Handle numbers are unique across every domain of a mount (fuse-native treats 0 as "none"). */
export class Handles {
  private next = 1;
  private readonly table = new Map<number, Handle>();

  async create(v: DomainView, path: string, mode: number, opts?: CreateOptions): Promise<number> {
    v.checkWritable();
    const ref = v.parse(path);
    if (!creatable(ref)) fail('EINVAL', `${path}: this name cannot be created here (reserved, or part of an escaped name)`);
    const node = await v.node(ref);
    if (node && node.kind !== 'file') fail('EISDIR', `${path} is a directory`);
    const key = keyOf(v.base, ref);
    const of = node?.kind === 'file' ? v.openFile(key, node.open?.base ?? node.entry) : v.openFile(key, null, mode);
    // Only a file nobody else has open: another writer may count on the spool.
    if (opts?.streamOnly && of.refs === 0) of.streamOnly = true;
    return this.add({ view: v, key, file: of, writable: true, entry: null, reader: null });
  }

  async open(v: DomainView, path: string, flags: number): Promise<number> {
    const { node } = await v.need(path);
    if (node.kind !== 'file') fail('EISDIR', `${path} is a directory`);
    const writable = (flags & O_ACCMODE) !== O_RDONLY;
    if (!writable) {
      // A file streamed with no local copy (streamOnly) cannot be read while written: readers get the stored version.
      const shared = node.open && !node.open.streamOnly ? node.open : null;
      if (node.open?.streamOnly && !node.open.base) fail('ENOENT', `${path} is being uploaded and is not stored yet`);
      const h: Handle = { view: v, key: node.key, file: shared, writable, entry: node.open?.base ?? node.entry, reader: null };
      // Its key is moved along when the file is renamed (tree.ts): it finds the
      // replicas by key at its first read, and a rename before that made the
      // read fail (ENOENT), or, after a rename onto the name (libfuse moves an
      // open file being replaced or unlinked to .fuse_hidden*), read the other file.
      if (!shared) v.readers.add(h);
      return this.add(h);
    }
    v.checkWritable();
    const of = node.open ?? v.openFile(node.key, node.entry);
    const fh = this.add({ view: v, key: node.key, file: of, writable, entry: null, reader: null });
    if (flags & O_TRUNC) await of.truncate(0);
    return fh;
  }

  async read(fh: number, len: number, pos: number): Promise<Buffer> {
    const h = this.get(fh);
    const of = h.file ? null : h.view.openFiles.get(h.key);
    if (of && !of.unlinked && !of.streamOnly) {
      // A read-only handle on a stored file that has since been opened for
      // writing reads what is written, as a handle on the same inode would:
      // it shares the file's state from now on (which also follows renames).
      of.refs++;
      h.file = of;
      h.view.readers.delete(h);
      h.reader?.close();
      h.reader = null;
    }
    if (h.file && (h.file.local || !h.file.base)) return h.file.read(len, pos);
    const entry = h.file?.base ?? h.entry;
    if (!entry) return Buffer.alloc(0);
    if (!h.reader) {
      // The shared file's key follows renames (OpenFile.retarget); the handle's own is where it was opened.
      const key = h.file?.key ?? h.key;
      h.reader = new Reader(h.view.keyspace.client, () => h.view.keyspace.paths(key), entry.length);
    }
    return h.reader.read(len, pos);
  }

  async fgetattr(fh: number): Promise<Stat> {
    const h = this.get(fh);
    const of = h.file ?? h.view.openFiles.get(h.key);
    // A reader of a file being streamed in (streamOnly) reads, and sees, the stored version.
    if (of && (h.file || !of.streamOnly)) return of.stat();
    return fileStat(h.entry as FileEntry, h.view.defaults);
  }

  async write(fh: number, buf: Buffer, pos: number): Promise<number> {
    const h = this.get(fh);
    if (!h.writable || !h.file) fail('EBADF', 'handle not open for writing');
    return h.file.write(buf, pos);
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    const h = this.get(fh);
    if (!h.writable || !h.file) fail('EBADF', 'handle not open for writing');
    await h.file.truncate(size);
  }

  /** Uploads the handle's file when it changed; its failure is the caller's (close reports it). */
  async flush(fh: number): Promise<void> {
    const h = this.get(fh);
    if (h.file?.dirty) await commit(h.view, h.file);
  }

  async release(fh: number): Promise<void> {
    const h = this.table.get(fh);
    if (!h) return;
    this.table.delete(fh);
    h.view.readers.delete(h);
    h.reader?.close();
    const of = h.file;
    if (!of) return;
    of.refs--;
    if (of.refs > 0) return;
    if (of.dirty) {
      await commit(h.view, of).catch((e: unknown) => {
        h.view.log.error({ key: of.key, errno: errnoOf(e), err: (e as Error).message }, 'upload at close failed');
      });
    }
    if (h.view.openFiles.get(of.key) === of) h.view.openFiles.delete(of.key);
    if (h.view.ghosts.get(of.key) === of) h.view.ghosts.delete(of.key);
    await of.close();
  }

  /**
   * Closes a handle without uploading its writes (a WebDAV PUT whose client
   * went away): a file only it was writing is dropped, so the stored file,
   * if any, stays as it was. A file other handles share is theirs to commit.
   */
  async discard(fh: number): Promise<void> {
    const h = this.table.get(fh);
    const of = h?.file;
    if (!h || !of || !h.writable || of.refs > 1) return this.release(fh);
    this.table.delete(fh);
    of.refs = 0;
    if (h.view.openFiles.get(of.key) === of) h.view.openFiles.delete(of.key);
    if (h.view.ghosts.get(of.key) === of) h.view.ghosts.delete(of.key);
    await of.discard();
  }

  /** truncate(2) by path: the open file's state when there is one, else a copy made, changed and uploaded at once. */
  async truncate(v: DomainView, path: string, size: number): Promise<void> {
    v.checkWritable();
    const { node } = await v.need(path);
    if (node.kind !== 'file') fail('EISDIR', `${path} is a directory`);
    if (node.open) {
      await node.open.truncate(size);
      if (node.open.refs === 0) await commit(v, node.open);
      return;
    }
    const of = v.openFile(node.key, node.entry);
    try {
      await of.truncate(size);
      await commit(v, of);
    } finally {
      if (v.openFiles.get(of.key) === of && of.refs === 0) v.openFiles.delete(of.key);
      await of.close();
    }
  }

  /** Releases every handle (at unmount), uploading what is pending. */
  async closeAll(): Promise<void> {
    for (const fh of [...this.table.keys()]) await this.release(fh);
  }

  private add(h: Handle): number {
    // Every handle on a file being written keeps its spool alive, read-only ones too.
    if (h.file) h.file.refs++;
    const fh = this.next++;
    if (this.next > 0x7fffffff) this.next = 1;
    this.table.set(fh, h);
    return fh;
  }

  private get(fh: number): Handle {
    return this.table.get(fh) ?? fail('EBADF', `no open handle ${fh}`);
  }
}

async function commit(v: DomainView, of: OpenFile): Promise<void> {
  try {
    const entry = await of.commit();
    if (entry) v.noteFile(of.key, entry);
    // Read-only handles on the file read the new content from now on, not the replaced fid's replicas;
    // except after a whole new content was streamed in (a WebDAV PUT), which readers see as a new file.
    for (const r of of.streamOnly ? [] : v.readers) {
      if (!entry || r.key !== of.key || r.entry?.fid === entry.fid) continue;
      r.entry = entry;
      r.reader?.close();
      r.reader = null;
    }
  } catch (e) {
    v.log.warn({ key: of.key, err: (e as Error).message }, 'upload failed');
    // The spool keeps the content; the caller sees EIO (or what the failure maps to, e.g. ENOSPC).
    throw e;
  }
}

/**
 * The handle operations of a Vfs, the same for one domain and for the whole
 * cluster: a handle knows its domain, so they need no path.
 */
export abstract class HandleOps {
  constructor(protected readonly handles: Handles) {}

  fgetattr(fh: number): Promise<Stat> { return this.handles.fgetattr(fh); }
  read(fh: number, len: number, pos: number): Promise<Buffer> { return this.handles.read(fh, len, pos); }
  write(fh: number, buf: Buffer, pos: number): Promise<number> { return this.handles.write(fh, buf, pos); }
  ftruncate(fh: number, size: number): Promise<void> { return this.handles.ftruncate(fh, size); }
  flush(fh: number): Promise<void> { return this.handles.flush(fh); }
  fsync(fh: number): Promise<void> { return this.handles.flush(fh); }
  release(fh: number): Promise<void> { return this.handles.release(fh); }
  discard(fh: number): Promise<void> { return this.handles.discard(fh); }
  close(): Promise<void> { return this.handles.closeAll(); }
}
