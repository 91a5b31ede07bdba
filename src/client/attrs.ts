/**
 * Attributes MogileFS has no column for (mtime, mode, uid, gid, symlink
 * target), through our tracker's `mogfs_*` extension commands. Against a
 * stock tracker (unknown_command) reads fall back to stock commands with no
 * attributes, and setAttrs reports false, so tools still work there.
 */
import { MogError } from '../protocol';
import type { Args } from '../protocol';
import type { MogileFS } from './files';

export interface FileAttrs {
  /** Modification time: seconds since the epoch and nanoseconds within that second. */
  mtimeSec?: number;
  mtimeNsec?: number;
  /** POSIX st_mode (type and permission bits). */
  mode?: number;
  uid?: number;
  gid?: number;
  symlink?: string;
}

/** A stored file with its attributes (empty when none were set, or on a stock tracker). */
export interface FileEntry {
  key: string;
  fid: number;
  length: number;
  devcount: number;
  class: string;
  attrs: FileAttrs;
  /** How many extended attributes the file has (0 on a stock tracker). */
  xattrs: number;
}

export interface FileListing {
  files: FileEntry[];
  /** Pass as `after` for the next page; null at the end. */
  nextAfter: string | null;
}

export function isUnknownCommand(e: unknown): boolean {
  return e instanceof MogError && e.code === 'unknown_command';
}

function optNum(v: string | undefined): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

/** The file fields a mogfs_* reply carries under prefix `p` (file_N_, entry_N_, or none). */
export function entryFrom(r: Args, p: string): FileEntry {
  const attrs: FileAttrs = {};
  const set = <K extends keyof FileAttrs>(k: K, v: FileAttrs[K] | undefined): void => {
    if (v !== undefined) attrs[k] = v;
  };
  set('mtimeSec', optNum(r[`${p}mtime_sec`]));
  set('mtimeNsec', optNum(r[`${p}mtime_nsec`]));
  set('mode', optNum(r[`${p}mode`]));
  set('uid', optNum(r[`${p}uid`]));
  set('gid', optNum(r[`${p}gid`]));
  set('symlink', r[`${p}symlink`]);
  return {
    key: r[`${p}key`] ?? '',
    fid: Number(r[`${p}fid`]),
    length: Number(r[`${p}length`]),
    devcount: Number(r[`${p}devcount`]),
    class: r[`${p}class`] ?? '',
    attrs,
    xattrs: Number(r[`${p}xattrs`] ?? 0),
  };
}

/**
 * Sets attributes of the file stored under `key`. With `fid`, only if the
 * key still names that upload (MogError fid_mismatch otherwise). Resolves
 * false when the tracker is a stock one that keeps no attributes.
 */
export async function setAttrs(mogc: MogileFS, key: string, attrs: FileAttrs, opts: { fid?: number } = {}): Promise<boolean> {
  try {
    await mogc.tracker.call('mogfs_set_attrs', {
      domain: mogc.domain,
      key,
      fid: opts.fid,
      mtime_sec: attrs.mtimeSec,
      mtime_nsec: attrs.mtimeNsec,
      mode: attrs.mode,
      uid: attrs.uid,
      gid: attrs.gid,
      symlink: attrs.symlink,
    });
    return true;
  } catch (e) {
    if (isUnknownCommand(e)) return false;
    throw e;
  }
}

/** The file under `key` with its attributes; MogError unknown_key when there is none. */
export async function getAttrs(mogc: MogileFS, key: string): Promise<FileEntry> {
  try {
    return entryFrom(await mogc.tracker.call('mogfs_get_attrs', { domain: mogc.domain, key }, { idempotent: true }), '');
  } catch (e) {
    if (!isUnknownCommand(e)) throw e;
  }
  const info = await mogc.fileInfo(key);
  return { key, fid: info.fid, length: info.length, devcount: info.devcount, class: info.class, attrs: {}, xattrs: 0 };
}

/** One page of files whose key starts with `prefix`, after `after`, with their attributes. */
export async function listFiles(mogc: MogileFS, prefix = '', opts: { after?: string; limit?: number } = {}): Promise<FileListing> {
  let r: Args;
  try {
    r = await mogc.tracker.call('mogfs_list_files', { domain: mogc.domain, prefix, after: opts.after, limit: opts.limit }, { idempotent: true });
  } catch (e) {
    if (!isUnknownCommand(e)) throw e;
    return listFilesStock(mogc, prefix, opts);
  }
  const n = Number(r.file_count ?? 0);
  const files: FileEntry[] = [];
  for (let i = 1; i <= n; i++) files.push(entryFrom(r, `file_${i}_`));
  return { files, nextAfter: r.next_after ? r.next_after : null };
}

/** A stock tracker: list_keys, then file_info per key (a key deleted in between is skipped). */
async function listFilesStock(mogc: MogileFS, prefix: string, opts: { after?: string; limit?: number }): Promise<FileListing> {
  const limit = Math.min(Math.max(1, opts.limit ?? 1000), 1000);
  const page = await mogc.listKeys(prefix, { after: opts.after, limit });
  const files: FileEntry[] = [];
  for (const key of page.keys) {
    try {
      const info = await mogc.fileInfo(key);
      files.push({ key, fid: info.fid, length: info.length, devcount: info.devcount, class: info.class, attrs: {}, xattrs: 0 });
    } catch (e) {
      if (!(e instanceof MogError && e.code === 'unknown_key')) throw e;
    }
  }
  return { files, nextAfter: page.keys.length === limit ? page.nextAfter : null };
}

/** Every file whose key starts with `prefix`, in key order, a page at a time. */
export async function* allFiles(mogc: MogileFS, prefix = '', opts: { pageSize?: number } = {}): AsyncGenerator<FileEntry> {
  let after: string | undefined;
  for (;;) {
    const page = await listFiles(mogc, prefix, { after, limit: opts.pageSize });
    yield* page.files;
    if (page.nextAfter === null) return;
    after = page.nextAfter;
  }
}

/** Whether the tracker keeps attributes (ours does; a stock MogileFS answers unknown_command). */
export async function trackerKeepsAttrs(mogc: MogileFS): Promise<boolean> {
  try {
    await mogc.tracker.call('mogfs_list_files', { domain: mogc.domain, limit: 1 }, { idempotent: true });
    return true;
  } catch (e) {
    if (isUnknownCommand(e)) return false;
    throw e;
  }
}
