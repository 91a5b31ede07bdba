// What WebDAV shows of a Vfs stat: the mount's size and mtime, as HTTP dates and ETags.
import { S_IFDIR, S_IFMT } from '../vfs';
import type { Stat } from '../vfs';

export function isDirStat(s: Stat): boolean {
  return (s.mode & S_IFMT) === S_IFDIR;
}

/** Milliseconds since the epoch. */
export function mtimeMs(s: Stat): number {
  return s.mtime.sec * 1000 + Math.floor(s.mtime.nsec / 1e6);
}

export function httpDate(s: Stat): string {
  return new Date(s.mtime.sec * 1000).toUTCString();
}

/** A strong ETag from what identifies a version: size and mtime to the nanosecond. */
export function etagOf(s: Stat): string {
  return `"${s.size.toString(16)}-${s.mtime.sec.toString(16)}-${s.mtime.nsec.toString(16)}"`;
}
