/**
 * Changes to the tree: mkdir (a marker key), rmdir, unlink, rename of files
 * (one tracker call that replaces the target) and of directories (one call
 * that moves the whole prefix, on our tracker), symlinks.
 */
import type { FileEntry } from '../client';
import { fail, isMog } from './errors';
import type { DomainView, Node } from './domain';
import { parentPrefix } from './domain';
import { creatable, keyOf, MARKER } from './names';
import type { PathRef } from './names';
import { isSymlink, nowTimespec, S_IFDIR, S_IFLNK } from './stat';

function newPlace(v: DomainView, ref: PathRef, path: string): string {
  if (!creatable(ref)) fail('EINVAL', `${path}: this name cannot be created here (reserved, or part of an escaped name)`);
  return keyOf(v.base, ref);
}

export async function mkdir(v: DomainView, path: string, mode: number): Promise<void> {
  v.checkWritable();
  const ref = v.parse(path);
  const key = newPlace(v, ref, path);
  if (await v.node(ref)) fail('EEXIST', `${path} exists`);
  const now = nowTimespec();
  const d = v.defaults;
  const marker = await v.keyspace.store(`${key}/${MARKER}`, { buffer: Buffer.alloc(0) }, {
    attrs: { mode: S_IFDIR | (mode & 0o7777), uid: d.uid, gid: d.gid, mtimeSec: now.sec, mtimeNsec: now.nsec },
  });
  v.noteDir(`${key}/`, true, marker);
  v.noteEmptyDir(`${key}/`, marker);
}

export async function rmdir(v: DomainView, path: string): Promise<void> {
  v.checkWritable();
  const { node } = await v.need(path);
  if (node.kind === 'file') fail('ENOTDIR', `${path} is not a directory`);
  if (node.kind === 'cont' || node.root) fail('EBUSY', `${path} cannot be removed`);
  if (!(await v.isEmpty(node.prefix))) fail('ENOTEMPTY', `${path} is not empty`);
  // The marker, if there is one (asked of the tracker, not a cache that may not know it yet).
  await v.keyspace.remove(node.prefix + MARKER).catch(ignoreGone);
  v.noteDir(node.prefix, false, null);
  await v.keepDir(parentPrefix(node.prefix.slice(0, -1), v.base));
}

export async function unlink(v: DomainView, path: string): Promise<void> {
  v.checkWritable();
  const { node } = await v.need(path);
  if (node.kind !== 'file') fail('EISDIR', `${path} is a directory`);
  if (v.ghosts.delete(node.key)) return; // libfuse removing a hidden open file at its last close
  await dropFile(v, node);
  await v.keepDir(parentPrefix(node.key, v.base));
}

/** Removes a file: the stored copy, and any upload still pending for it. */
async function dropFile(v: DomainView, node: Extract<Node, { kind: 'file' }>): Promise<void> {
  await v.detach(node.key);
  if (node.entry || node.open?.base) await v.keyspace.remove(node.key).catch(ignoreGone);
  v.noteFile(node.key, null);
}

export async function rename(v: DomainView, from: string, to: string): Promise<void> {
  v.checkWritable();
  const { node: src } = await v.need(from);
  const tref = v.parse(to);
  const toKey = newPlace(v, tref, to);
  const dst = await v.node(tref);
  if (src.kind === 'cont' || (src.kind === 'dir' && src.root)) fail('EBUSY', `${from} cannot be moved`);
  if (src.kind === 'file') {
    if (src.key === toKey) return;
    if (HIDDEN.test(tref.segments[tref.segments.length - 1]) && !dst) {
      await hide(v, src, toKey);
      return;
    }
    if (dst && dst.kind !== 'file') fail('EISDIR', `${to} is a directory`);
    await moveFile(v, src, toKey, dst);
    await v.keepDir(parentPrefix(src.key, v.base));
    return;
  }
  const fromKey = src.prefix.slice(0, -1);
  if (fromKey === toKey) return;
  if (dst && dst.kind === 'file') fail('ENOTDIR', `${to} is not a directory`);
  if (toKey.startsWith(src.prefix)) fail('EINVAL', `cannot move ${from} into itself`);
  if (dst && dst.kind === 'dir') {
    if (!(await v.isEmpty(dst.prefix))) fail('ENOTEMPTY', `${to} is not empty`);
    await v.keyspace.remove(dst.prefix + MARKER).catch(ignoreGone);
    v.noteDir(dst.prefix, false, null);
  }
  await v.keyspace.renameDir(src.prefix, `${toKey}/`);
  for (const [key, of] of [...v.openFiles]) {
    if (!key.startsWith(src.prefix)) continue;
    v.openFiles.delete(key);
    of.retarget(toKey + '/' + key.slice(src.prefix.length));
    v.openFiles.set(of.key, of);
  }
  for (const r of v.readers) if (r.key.startsWith(src.prefix)) r.key = toKey + '/' + r.key.slice(src.prefix.length);
  // Files removed while open move with their directory too: libfuse finds them by their path in it.
  for (const [key, of] of [...v.ghosts]) {
    if (!key.startsWith(src.prefix)) continue;
    v.ghosts.delete(key);
    of.retarget(toKey + '/' + key.slice(src.prefix.length));
    v.ghosts.set(of.key, of);
  }
  v.forgetTree(src.prefix);
  v.forgetTree(`${toKey}/`);
  await v.keepDir(parentPrefix(fromKey, v.base));
}

/** The name libfuse gives a file removed (or renamed over) while open, until its last close. */
const HIDDEN = /^\.fuse_hidden[0-9a-f]{16}$/;

/**
 * libfuse keeps a file that is removed while open by renaming it to a hidden
 * name, and removes that at the last close. In MogileFS that would be a key
 * other clients see; here the file is removed at once, as on a local disk,
 * and its open handles keep a local copy under the hidden name (a ghost),
 * which no listing shows and no rmdir counts.
 */
async function hide(v: DomainView, src: Extract<Node, { kind: 'file' }>, hiddenKey: string): Promise<void> {
  const of = await v.detach(src.key);
  if (!of) {
    await moveFile(v, src, hiddenKey, null); // nothing open after all: an ordinary rename
    return;
  }
  if (src.entry || of.base) await v.keyspace.remove(src.key).catch(ignoreGone);
  of.retarget(hiddenKey);
  v.ghosts.set(hiddenKey, of);
  v.noteFile(src.key, null);
  await v.keepDir(parentPrefix(src.key, v.base));
}

async function moveFile(v: DomainView, src: Extract<Node, { kind: 'file' }>, toKey: string, dst: Node | null): Promise<void> {
  const stored = src.entry ?? src.open?.base ?? null;
  // What is open under the target name keeps what it opened; the name is ours now.
  if (dst?.kind === 'file') await v.detach(toKey);
  if (stored) {
    await v.keyspace.rename(src.key, toKey);
  } else if (dst?.kind === 'file' && (dst.entry || dst.open?.base)) {
    // A file not uploaded yet replaces what is there: the old one goes now, as rename(2) says.
    await v.keyspace.remove(toKey).catch(ignoreGone);
  }
  if (src.open) {
    v.openFiles.delete(src.key);
    src.open.retarget(toKey);
    v.openFiles.set(toKey, src.open);
  } else {
    v.openFiles.delete(toKey);
  }
  // Read-only handles follow the file they opened (domain.ts, readers).
  for (const r of v.readers) if (r.key === src.key) r.key = toKey;
  v.noteFile(src.key, null);
  v.noteFile(toKey, stored ? { ...stored, key: toKey } as FileEntry : null);
}

export async function symlink(v: DomainView, target: string, path: string): Promise<void> {
  v.checkWritable();
  const ref = v.parse(path);
  const key = newPlace(v, ref, path);
  if (!v.keyspace.extensions) fail('EPERM', 'this tracker keeps no attributes (a stock MogileFS tracker), so it cannot hold symbolic links');
  if (await v.node(ref)) fail('EEXIST', `${path} exists`);
  const now = nowTimespec();
  const d = v.defaults;
  const entry = await v.keyspace.store(key, { buffer: Buffer.alloc(0) }, {
    attrs: { mode: S_IFLNK | 0o777, uid: d.uid, gid: d.gid, mtimeSec: now.sec, mtimeNsec: now.nsec, symlink: target },
  });
  v.noteFile(key, entry);
}

export async function readlink(v: DomainView, path: string): Promise<string> {
  const { node } = await v.need(path);
  const entry = node.kind === 'file' ? node.open?.base ?? node.entry : null;
  if (!entry || !isSymlink(v.stat(node).mode)) fail('EINVAL', `${path} is not a symbolic link`);
  return entry.attrs.symlink ?? '';
}

function ignoreGone(e: unknown): void {
  if (!isMog(e, 'unknown_key')) throw e;
}
