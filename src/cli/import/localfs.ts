/**
 * The local side of import and export: walking a tree without holding it in
 * memory, the key <-> relative path mapping (the prefix scheme the mounted
 * folder uses: key = prefix + path with '/' separators), and comparing a
 * local file with a stored one by size and mtime.
 */
import { opendir, lstat } from 'node:fs/promises';
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

/**
 * Every regular file below `root`, depth first, one directory open at a
 * time. Symbolic links, sockets and devices are reported as skipped (the
 * import copies file contents; it does not follow links out of the tree).
 */
export async function* walkTree(root: string): AsyncGenerator<LocalFile | SkippedEntry> {
  const stack: string[] = [''];
  while (stack.length > 0) {
    const relDir = stack.pop() as string;
    const dir = await opendir(path.join(root, relDir));
    const subdirs: string[] = [];
    for await (const ent of dir) {
      const rel = relDir === '' ? ent.name : `${relDir}/${ent.name}`;
      if (ent.isDirectory()) {
        subdirs.push(rel);
        continue;
      }
      if (!ent.isFile()) {
        yield { kind: 'skipped', rel, reason: ent.isSymbolicLink() ? 'symbolic link' : 'not a regular file' };
        continue;
      }
      const abs = path.join(root, rel);
      let st: BigIntStats;
      try {
        st = await lstat(abs, { bigint: true });
      } catch (e) {
        // Removed while we walked: nothing to import.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      yield { kind: 'file', rel, abs, size: Number(st.size), attrs: attrsFromStats(st) };
    }
    // Reverse so the stack visits subdirectories in the order the directory listed them.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
}
