/**
 * File attributes MogileFS has no column for (mtime, mode, uid, gid, symlink
 * target), kept in a table of our own, `mogfs_file_attr`, keyed by fid. A fid
 * is one immutable upload, so the row follows the file: a rename keeps it, a
 * replacing upload (new fid) starts without one, and deleting the file row
 * deletes it in the same transaction.
 */
import type { FileRow } from './types';

export interface FileAttrs {
  /** Modification time: whole seconds since the epoch, and the nanoseconds within that second. */
  mtimeSec: number | null;
  mtimeNsec: number | null;
  /** POSIX st_mode bits (type and permissions), as lstat reports them. */
  mode: number | null;
  uid: number | null;
  gid: number | null;
  /** Target of a symbolic link, when the file stands for one. */
  symlink: string | null;
}

/** A file row with its attributes (all null when it has none, e.g. stored by a stock client). */
export interface FileWithAttrs extends FileRow {
  attrs: FileAttrs;
  /** How many extended attributes (mogfs_file_xattr rows) the file has. */
  xattrCount: number;
}

export { XATTR_NAME_MAX, XATTR_SIZE_MAX } from '../protocol/limits';

export const NO_ATTRS: Readonly<FileAttrs> = Object.freeze({
  mtimeSec: null, mtimeNsec: null, mode: null, uid: null, gid: null, symlink: null,
});

/** Column list, in FileAttrs order, shared by both engines. */
export const ATTR_COLUMNS = ['mtime_sec', 'mtime_nsec', 'mode', 'uid', 'gid', 'symlink'] as const;

export interface AttrRow {
  mtime_sec: number | string | null;
  mtime_nsec: number | null;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  symlink: string | Buffer | null;
}

function n(v: number | string | null | undefined): number | null {
  return v === null || v === undefined ? null : Number(v);
}

export function attrsFromRow(r: Partial<AttrRow> | undefined): FileAttrs {
  if (!r) return { ...NO_ATTRS };
  const link = r.symlink;
  return {
    mtimeSec: n(r.mtime_sec),
    mtimeNsec: n(r.mtime_nsec),
    mode: n(r.mode),
    uid: n(r.uid),
    gid: n(r.gid),
    symlink: link === null || link === undefined ? null : Buffer.isBuffer(link) ? link.toString('utf8') : String(link),
  };
}

/** Values to bind for an upsert, in ATTR_COLUMNS order; undefined fields keep what the row has. */
export function attrValues(a: Partial<FileAttrs>): Array<number | string | null> {
  return [a.mtimeSec, a.mtimeNsec, a.mode, a.uid, a.gid, a.symlink].map((v) => (v === undefined ? null : v));
}
