/**
 * Whole-tree operations WebDAV asks for and POSIX has no single call for:
 * DELETE of a collection, MOVE onto an existing resource, COPY. Renames go
 * through the Vfs's rename, the one atomic tracker call the mount uses too.
 */
import { errnoOf, VfsError } from '../vfs';
import type { Vfs } from '../vfs';
import { isDirStat } from './stat';

/** Removes a file, or a collection with everything in it (members first). */
export async function removeTree(vfs: Vfs, path: string): Promise<void> {
  const s = await vfs.getattr(path);
  if (!isDirStat(s)) return vfs.unlink(path);
  for (const e of await vfs.readdir(path)) {
    const child = join(path, e.name);
    if (isDirStat(e.stat)) await removeTree(vfs, child);
    else await vfs.unlink(child);
  }
  await vfs.rmdir(path);
}

async function exists(vfs: Vfs, path: string): Promise<boolean> {
  try {
    await vfs.getattr(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

/**
 * MOVE: resolves to whether something was replaced. A file onto a file is
 * one atomic rename; a target collection (which rename only replaces when
 * empty) is removed first, as RFC 4918 §9.9.3 has MOVE with Overwrite do.
 * Between domains (no rename there) the tree is copied and the source removed.
 */
export async function moveTree(vfs: Vfs, from: string, to: string, overwrite: boolean): Promise<boolean> {
  const target = await vfs.getattr(to).catch((e: unknown) => (errnoOf(e) === 'ENOENT' ? null : Promise.reject(e)));
  if (target && !overwrite) throw new VfsError('EEXIST', `${to} exists`);
  const source = await vfs.getattr(from);
  if (target && (isDirStat(target) || isDirStat(source))) await removeTree(vfs, to);
  try {
    await vfs.rename(from, to);
  } catch (e) {
    if (errnoOf(e) !== 'EXDEV') throw e;
    await copyTree(vfs, from, to, true, -1);
    await removeTree(vfs, from);
  }
  return target !== null;
}

/** COPY: resolves to whether something was replaced. depth 0 copies a collection without its members. */
export async function copyTree(vfs: Vfs, from: string, to: string, overwrite: boolean, depth: number): Promise<boolean> {
  const replaced = await exists(vfs, to);
  if (replaced && !overwrite) throw new VfsError('EEXIST', `${to} exists`);
  if (replaced) await removeTree(vfs, to);
  await copyInto(vfs, from, to, depth);
  return replaced;
}

async function copyInto(vfs: Vfs, from: string, to: string, depth: number): Promise<void> {
  const s = await vfs.getattr(from);
  if (!isDirStat(s)) return copyFile(vfs, from, to, s.mode & 0o7777);
  await vfs.mkdir(to, s.mode & 0o7777);
  if (depth === 0) return;
  for (const e of await vfs.readdir(from)) await copyInto(vfs, join(from, e.name), join(to, e.name), depth);
}

/** Bytes of one file into a new one, a chunk at a time; the copy gets a fresh mtime, as cp does. */
async function copyFile(vfs: Vfs, from: string, to: string, mode: number): Promise<void> {
  const src = await vfs.open(from, 0);
  let dst: number | null = null;
  try {
    dst = await vfs.create(to, mode);
    await vfs.ftruncate(dst, 0);
    for (let pos = 0; ;) {
      const buf = await vfs.read(src, 1 << 20, pos);
      if (buf.length === 0) break;
      await vfs.write(dst, buf, pos);
      pos += buf.length;
    }
    await vfs.flush(dst);
    await vfs.release(dst);
    dst = null;
  } finally {
    if (dst !== null) await vfs.discard(dst);
    await vfs.release(src);
  }
}

export function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}
