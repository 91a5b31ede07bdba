/**
 * Attributes through the view: chmod, chown, utimens (one set_attrs call on
 * a stored file, or kept for the upload of a file being written; a
 * directory's live on its marker), and extended attributes: user.* stored in
 * our table, and read-only virtual ones under user.mogilefs. (class, paths,
 * fid, key), of which only class can be set. Other namespaces (system.,
 * security., trusted.) hold nothing, as on a filesystem without ACLs.
 */
import type { FileAttrs, FileEntry } from '../client';
import { XATTR_NAME_MAX, XATTR_SIZE_MAX } from '../protocol';
import { fail } from './errors';
import type { DomainView, Node } from './domain';
import { MARKER } from './names';
import { nowTimespec, S_IFDIR, S_IFMT } from './stat';
import type { Stat } from './stat';
import { XATTR_CREATE, XATTR_REPLACE } from './types';
import type { MtimeChange } from './types';

const VIRTUAL = 'user.mogilefs.';
const NO_ATTRS = 'this tracker keeps no attributes (a stock MogileFS tracker): mode, owner and times cannot be stored';

function attrsOf(st: Stat): FileAttrs {
  return { mode: st.mode, uid: st.uid, gid: st.gid, mtimeSec: st.mtime.sec, mtimeNsec: st.mtime.nsec };
}

/** Applies `change` to what `path` names, and stores it. */
async function changeAttrs(v: DomainView, path: string, change: (cur: Stat) => FileAttrs): Promise<void> {
  v.checkWritable();
  const { node } = await v.need(path);
  if (node.kind === 'cont') fail('EPERM', `${path} is part of an escaped name, not a directory of its own`);
  const cur = v.stat(node);
  const next = { ...attrsOf(cur), ...change(cur) };
  if (node.kind === 'dir') {
    await storeMarker(v, node, next);
    return;
  }
  const of = node.open;
  // A file being written keeps the change for its upload; one removed while open keeps it locally.
  if (of?.uploadPending || of?.unlinked) {
    of.setAttrs(next);
    return;
  }
  const entry = (of?.base ?? node.entry) as FileEntry;
  if (entry.attrs.symlink !== undefined) next.symlink = entry.attrs.symlink;
  if (!(await v.keyspace.setAttrs(node.key, entry.fid, next))) fail('EPERM', NO_ATTRS);
  const updated = { ...entry, attrs: next };
  of?.stored(updated);
  v.noteFile(node.key, updated);
}

/** A directory's attributes (and extended attributes) live on its marker, made when it has none. */
async function storeMarker(v: DomainView, node: Extract<Node, { kind: 'dir' }>, attrs: FileAttrs): Promise<FileEntry> {
  const key = node.prefix + MARKER;
  const dirAttrs = { ...attrs, mode: S_IFDIR | ((attrs.mode ?? 0) & 0o7777) };
  let marker: FileEntry;
  if (node.marker) {
    if (!(await v.keyspace.setAttrs(key, node.marker.fid, dirAttrs))) fail('EPERM', NO_ATTRS);
    marker = { ...node.marker, attrs: dirAttrs };
  } else {
    if (!v.keyspace.extensions) fail('EPERM', NO_ATTRS);
    marker = await v.keyspace.store(key, { buffer: Buffer.alloc(0) }, { attrs: dirAttrs });
  }
  v.noteDir(node.prefix, true, marker);
  return marker;
}

export function chmod(v: DomainView, path: string, mode: number): Promise<void> {
  return changeAttrs(v, path, (cur) => ({ mode: (cur.mode & S_IFMT) | (mode & 0o7777) }));
}

/** uid or gid -1 (0xffffffff) leaves that one as it is, as chown(2) does. */
export function chown(v: DomainView, path: string, uid: number, gid: number): Promise<void> {
  const keep = (n: number): boolean => n === -1 || n === 0xffffffff;
  return changeAttrs(v, path, (cur) => ({ uid: keep(uid) ? cur.uid : uid, gid: keep(gid) ? cur.gid : gid }));
}

export async function utimens(v: DomainView, path: string, mtime: MtimeChange): Promise<void> {
  if (mtime === null) {
    await v.need(path);
    return;
  }
  const t = mtime === 'now' ? nowTimespec() : mtime;
  await changeAttrs(v, path, () => ({ mtimeSec: t.sec, mtimeNsec: t.nsec }));
}

/** Where a node's extended attributes are: its stored file (or its directory's marker) and a file's pending changes. */
function holder(node: Node): { key: string; entry: FileEntry | null; pending: Map<string, Buffer | null> | null } {
  if (node.kind === 'dir') return { key: node.prefix + MARKER, entry: node.marker, pending: null };
  if (node.kind === 'cont') return { key: node.prefix, entry: null, pending: null };
  return { key: node.key, entry: node.open?.base ?? node.entry, pending: node.open?.uploadPending ? node.open.pendingXattrs : null };
}

async function userXattrs(v: DomainView, node: Node): Promise<Map<string, Buffer>> {
  const h = holder(node);
  const out = h.entry && h.entry.xattrs > 0 ? new Map(await v.keyspace.xattrs(h.key)) : new Map<string, Buffer>();
  for (const [name, value] of h.pending ?? []) {
    if (value === null) out.delete(name);
    else out.set(name, value);
  }
  return out;
}

async function virtualXattr(v: DomainView, node: Node, name: string): Promise<Buffer> {
  const what = name.slice(VIRTUAL.length);
  if (node.kind !== 'file') {
    if (what === 'key' && node.kind === 'dir') return Buffer.from(node.prefix);
    fail('ENODATA', `${name} is only kept for files`);
  }
  const entry = node.open?.base ?? node.entry;
  if (what === 'key') return Buffer.from(node.key);
  if (what === 'class') return Buffer.from(node.open?.cls || entry?.class || 'default');
  if (!entry) fail('ENODATA', `${name}: the file is not uploaded yet`);
  if (what === 'fid') return Buffer.from(String(entry.fid));
  if (what === 'paths') return Buffer.from((await v.keyspace.paths(node.key)).join('\n'));
  fail('ENODATA', `no attribute ${name} (user.mogilefs.class, .paths, .fid and .key exist)`);
}

export async function getxattr(v: DomainView, path: string, name: string): Promise<Buffer> {
  const { node } = await v.need(path);
  if (name.startsWith(VIRTUAL)) return virtualXattr(v, node, name);
  if (!name.startsWith('user.')) fail('ENODATA', `no ${name}`);
  return (await userXattrs(v, node)).get(name) ?? fail('ENODATA', `no ${name}`);
}

export async function listxattr(v: DomainView, path: string): Promise<string[]> {
  const { node } = await v.need(path);
  return [...(await userXattrs(v, node)).keys()];
}

export async function setxattr(v: DomainView, path: string, name: string, value: Buffer | null, flags: number): Promise<void> {
  v.checkWritable();
  const { node } = await v.need(path);
  if (name === `${VIRTUAL}class` && value !== null) return setClass(v, node, value.toString('utf8'));
  if (name.startsWith(VIRTUAL)) fail('EPERM', `${name} is read-only (only ${VIRTUAL}class can be set)`);
  if (!name.startsWith('user.')) fail('ENOTSUP', `${name.split('.')[0]}.* attributes are not supported here`);
  if (!v.keyspace.extensions) fail('ENOTSUP', 'this tracker keeps no extended attributes (a stock MogileFS tracker)');
  if (Buffer.byteLength(name) > XATTR_NAME_MAX) fail('ERANGE', `attribute names hold at most ${XATTR_NAME_MAX} bytes`);
  if (value && value.length > XATTR_SIZE_MAX) fail('E2BIG', `attribute values hold at most ${XATTR_SIZE_MAX} bytes here`);
  if (node.kind === 'cont') fail('EPERM', `${path} is part of an escaped name`);
  const current = await userXattrs(v, node);
  const exists = current.has(name);
  if (value === null && !exists) fail('ENODATA', `no ${name}`);
  if (value !== null && flags & XATTR_CREATE && exists) fail('EEXIST', `${name} exists`);
  if (value !== null && flags & XATTR_REPLACE && !exists) fail('ENODATA', `no ${name}`);
  const count = current.size + (value === null ? -1 : exists ? 0 : 1);
  if (node.kind === 'dir') {
    const marker = node.marker ?? await storeMarker(v, node, attrsOf(v.stat(node)));
    if (!(await v.keyspace.setXattr(node.prefix + MARKER, marker.fid, name, value))) fail('ENOTSUP', 'no extended attributes here');
    v.noteDir(node.prefix, true, { ...marker, xattrs: count });
    return;
  }
  const h = holder(node);
  if (h.pending) {
    h.pending.set(name, value);
    return;
  }
  const entry = h.entry as FileEntry;
  if (!(await v.keyspace.setXattr(node.key, entry.fid, name, value))) fail('ENOTSUP', 'no extended attributes here');
  const updated = { ...entry, xattrs: count };
  node.open?.stored(updated);
  v.noteFile(node.key, updated);
}

async function setClass(v: DomainView, node: Node, cls: string): Promise<void> {
  if (node.kind !== 'file') fail('EPERM', 'only files have a class');
  if (node.open?.uploadPending) {
    node.open.cls = cls;
    return;
  }
  await v.keyspace.updateClass(node.key, cls);
  if (node.open) node.open.cls = cls;
  const entry = node.open?.base ?? node.entry;
  if (entry) v.noteFile(node.key, { ...entry, class: cls });
}
