/**
 * The local side of import and export: walking a tree in key order without
 * holding it in memory, the key <-> relative path mapping (the prefix scheme the mounted
 * folder uses: key = prefix + path with '/' separators), and comparing a
 * local file with a stored one by size and mtime.
 */
import { lstat, readdir } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import type { FileAttrs, FileEntry } from '../../client';

const NS_PER_SEC = 1_000_000_000n;

/** mtime (to the nanosecond), mode, uid and gid of an lstat, as stored in the attribute table. */
export function attrsFromStats(st: BigIntStats): FileAttrs {
  const attrs: FileAttrs = { mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid) };
  // Times before 1970 are not kept (the table holds whole seconds >= 0); such a file is always re-sent.
  if (st.mtimeNs >= 0n) {
    attrs.mtimeSec = Number(st.mtimeNs / NS_PER_SEC);
    attrs.mtimeNsec = Number(st.mtimeNs % NS_PER_SEC);
  }
  return attrs;
}

/** True when the stored file has this local file's size and mtime, to the nanosecond. */
export function sameFile(local: { size: number; attrs: FileAttrs }, remote: FileEntry | undefined): boolean {
  if (!remote || remote.length !== local.size) return false;
  const a = local.attrs;
  const b = remote.attrs;
  return a.mtimeSec !== undefined && a.mtimeSec === b.mtimeSec && (a.mtimeNsec ?? 0) === (b.mtimeNsec ?? 0);
}

/** "photos" and "photos/" both mean the folder photos/; "" is the whole domain. */
export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  const p = prefix.replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

export function keyFor(prefix: string, rel: string): string {
  return prefix + rel;
}

/**
 * The relative path a key is exported to, or null when the key is no safe
 * path under the target folder (empty, `.`/`..` segments, `//`, a leading
 * `/`, a NUL byte): such keys are reported, never written outside the folder.
 */
export function relForKey(prefix: string, key: string): string | null {
  if (!key.startsWith(prefix)) return null;
  const rel = key.slice(prefix.length);
  if (rel === '' || rel.includes('\0')) return null;
  const parts = rel.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..' || Buffer.byteLength(s, 'utf8') > 255)) return null;
  return rel;
}

export interface LocalFile {
  kind: 'file';
  /** Path relative to the root, '/' separated. */
  rel: string;
  abs: string;
  size: number;
  attrs: FileAttrs;
}

export interface SkippedEntry {
  kind: 'skipped';
  rel: string;
  reason: string;
}

/** Lstats started ahead of the walk, so the disk and the tracker's listing overlap. */
const LSTAT_AHEAD = 32;

/**
 * UTF-8 byte order of two strings, which is the tracker's key order. It is
 * code point order; JavaScript's own `<` compares UTF-16 units, which puts
 * everything above U+FFFF (surrogates, D800-DFFF) before U+E000-U+FFFF.
 * `aDir`/`bDir`: the string is a directory's name, compared as if it had
 * '/' after it (the keys below it do), without building that string.
 */
export function compareUtf8(a: string, b: string, aDir = false, bDir = false): number {
  const an = a.length + (aDir ? 1 : 0);
  const bn = b.length + (bDir ? 1 : 0);
  for (let i = 0; i < an && i < bn; i++) {
    const x = i < a.length ? a.charCodeAt(i) : 0x2f;
    const y = i < b.length ? b.charCodeAt(i) : 0x2f;
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return an - bn;
}

function utf8Rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

const enum Kind { Dir, File, Symlink, Other, BadName }

interface DirEntry {
  name: string;
  kind: Kind;
}

/** One directory's entries in key order: a directory `a` sorts as `a/`, so `a-b` < `a.b` < `a/x` < `a0`. */
async function readSorted(abs: string): Promise<DirEntry[]> {
  const entries = (await readdir(abs, { withFileTypes: true })).map((d): DirEntry => ({
    name: d.name,
    kind: d.isDirectory() ? Kind.Dir : d.isFile() ? Kind.File : d.isSymbolicLink() ? Kind.Symlink : Kind.Other,
  }));
  for (const e of entries) {
    // A name that is no UTF-8 is read back with U+FFFD in it, and then names nothing on disk.
    if (e.name.includes('\uFFFD') && !(await exists(path.join(abs, e.name)))) e.kind = Kind.BadName;
  }
  return entries.sort((x, y) => compareUtf8(x.name, y.name, x.kind === Kind.Dir, y.kind === Kind.Dir));
}

async function exists(abs: string): Promise<boolean> {
  return lstat(abs).then(() => true, () => false);
}

/** The lstat, null when the file is gone, or the error to throw once the walk gets there. */
function lstatAhead(abs: string): Promise<BigIntStats | null | Error> {
  return lstat(abs, { bigint: true }).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : e));
}

const SKIP_REASON: Record<Kind, string> = {
  [Kind.Dir]: '', [Kind.File]: '', [Kind.Symlink]: 'symbolic link', [Kind.Other]: 'not a regular file',
  [Kind.BadName]: 'name is not valid UTF-8',
};

/**
 * Every regular file below `root` in key order (UTF-8 bytes of the relative
 * path, as the tracker lists keys), so it merges with the remote listing.
 * Depth first; only the entries of the directories on the current path are
 * held, never the tree. Symbolic links, sockets, devices and names that are
 * no UTF-8 (they cannot be keys) are reported as skipped; the import copies
 * file contents and does not follow links out of the tree.
 */
export function walkTree(root: string): AsyncGenerator<LocalFile | SkippedEntry> {
  return walkDir(root, '');
}

async function* walkDir(root: string, relDir: string): AsyncGenerator<LocalFile | SkippedEntry> {
  const dir = path.join(root, relDir);
  let entries: DirEntry[];
  try {
    entries = await readSorted(dir);
  } catch (e) {
    // A folder removed while we walked: nothing to import.
    if (relDir !== '' && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const stats: Array<Promise<BigIntStats | null | Error> | undefined> = new Array(entries.length);
  let ahead = 0;
  for (let i = 0; i < entries.length; i++) {
    for (; ahead < Math.min(i + LSTAT_AHEAD, entries.length); ahead++) {
      if (entries[ahead].kind === Kind.File) stats[ahead] = lstatAhead(path.join(dir, entries[ahead].name));
    }
    const ent = entries[i];
    const rel = relDir === '' ? ent.name : `${relDir}/${ent.name}`;
    if (ent.kind === Kind.Dir) {
      yield* walkDir(root, rel);
      continue;
    }
    if (ent.kind !== Kind.File) {
      yield { kind: 'skipped', rel, reason: SKIP_REASON[ent.kind] };
      continue;
    }
    const st = await (stats[i] as Promise<BigIntStats | null | Error>);
    stats[i] = undefined;
    if (st instanceof Error) throw st;
    // Removed while we walked: nothing to import.
    if (st === null) continue;
    yield { kind: 'file', rel, abs: path.join(dir, ent.name), size: Number(st.size), attrs: attrsFromStats(st) };
  }
}
