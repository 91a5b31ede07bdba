/**
 * What a file or directory looks like to `stat`: built from a stored file's
 * row and attributes (or defaults where MogileFS keeps none), the same for
 * FUSE and WebDAV. Times are seconds plus nanoseconds; atime and ctime are
 * the mtime (MogileFS keeps neither).
 */
import type { FileAttrs, FileEntry } from '../client';

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export interface Timespec {
  sec: number;
  nsec: number;
}

export interface Stat {
  /** Type and permission bits, as st_mode. */
  mode: number;
  size: number;
  mtime: Timespec;
  uid: number;
  gid: number;
  nlink: number;
}

/** Ownership and times for what has none stored: the mounting user, and the mount's start. */
export interface StatDefaults {
  uid: number;
  gid: number;
  fileMode: number;
  dirMode: number;
  time: Timespec;
}

export function isDir(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}

export function isSymlink(mode: number): boolean {
  return (mode & S_IFMT) === S_IFLNK;
}

export function timeOf(attrs: FileAttrs, fallback: Timespec): Timespec {
  return attrs.mtimeSec === undefined ? fallback : { sec: attrs.mtimeSec, nsec: attrs.mtimeNsec ?? 0 };
}

/** A stored file: its length, and its attributes where kept (a symlink is one when its mode says so). */
export function fileStat(f: FileEntry, d: StatDefaults): Stat {
  let mode = f.attrs.mode ?? (S_IFREG | d.fileMode);
  // A mode without a file type (stored by some other tool) is a regular file; a directory mode on a file is not believed.
  if ((mode & S_IFMT) === 0 || isDir(mode)) mode = S_IFREG | (mode & 0o7777);
  const size = isSymlink(mode) ? Buffer.byteLength(f.attrs.symlink ?? '', 'utf8') : f.length;
  return { mode, size, mtime: timeOf(f.attrs, d.time), uid: f.attrs.uid ?? d.uid, gid: f.attrs.gid ?? d.gid, nlink: 1 };
}

/** A directory, with its marker's attributes when it has one. */
export function dirStat(marker: FileEntry | null, d: StatDefaults): Stat {
  const a = marker?.attrs ?? {};
  const perm = a.mode !== undefined ? a.mode & 0o7777 : d.dirMode;
  // nlink 1: "unknown", which tells find not to count subdirectories from it.
  return { mode: S_IFDIR | perm, size: 4096, mtime: timeOf(a, d.time), uid: a.uid ?? d.uid, gid: a.gid ?? d.gid, nlink: 1 };
}

/** The time now as a Timespec. */
export function nowTimespec(): Timespec {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
}
