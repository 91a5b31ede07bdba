/**
 * DELETE, MKCOL, COPY and MOVE: the namespace methods, over the tree
 * operations in ../tree.ts (a MOVE is the mount's atomic rename). Locks
 * on what is deleted or moved away go with it.
 */
import { errnoOf } from '../../vfs';
import { checkWrite } from '../conditions';
import type { DavRequest } from '../request';
import { HttpError } from '../request';
import { isBelow } from '../locks';
import { copyTree, moveTree, removeTree } from '../tree';

async function exists(r: DavRequest, path: string): Promise<boolean> {
  try {
    await r.env.vfs.getattr(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

async function dropLocks(r: DavRequest, path: string): Promise<void> {
  for (const l of await r.env.locks.within(path)) await r.env.locks.release(l.token);
}

export async function del(r: DavRequest): Promise<void> {
  if (r.path === '/') throw new HttpError(403, 'the root cannot be deleted');
  await r.drain();
  const depth = r.depth(-1);
  await r.env.vfs.getattr(r.path);
  if (depth !== -1) throw new HttpError(400, 'DELETE takes Depth: infinity only');
  await checkWrite(r, r.path, true);
  await removeTree(r.env.vfs, r.path);
  await dropLocks(r, r.path);
  r.send(204);
}

export async function mkcol(r: DavRequest): Promise<void> {
  const body = await r.body();
  if (body.length > 0) throw new HttpError(415, 'MKCOL with a body is not supported');
  if (await exists(r, r.path)) throw new HttpError(405, `${r.path} exists`);
  await r.needParent(r.path);
  await checkWrite(r, r.path);
  try {
    await r.env.vfs.mkdir(r.path, 0o755);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') throw new HttpError(409, `the parent of ${r.path} is not a collection`);
    throw e;
  }
  r.send(201);
}

export async function copyOrMove(r: DavRequest, move: boolean): Promise<void> {
  await r.drain();
  const to = r.destination();
  const overwrite = r.overwrite();
  const depth = r.depth(-1);
  if (move && depth !== -1) throw new HttpError(400, 'MOVE takes Depth: infinity only');
  if (!move && depth === 1) throw new HttpError(400, 'COPY takes Depth 0 or infinity');
  await r.env.vfs.getattr(r.path);
  if (to === r.path || isBelow(to, r.path)) throw new HttpError(403, 'source and destination overlap');
  if (to === '/') throw new HttpError(403, 'the root cannot be replaced');
  if (move) await checkWrite(r, r.path, true);
  await checkWrite(r, to, true);
  await r.needParent(to);
  const existed = await exists(r, to);
  if (existed && !overwrite) throw new HttpError(412, `${to} exists and Overwrite is F`);
  try {
    if (move) await moveTree(r.env.vfs, r.path, to, overwrite);
    else await copyTree(r.env.vfs, r.path, to, overwrite, depth);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' && !(await exists(r, r.path))) throw e;
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') throw new HttpError(409, `the parent of ${to} is not a collection`);
    throw e;
  }
  if (move) await dropLocks(r, r.path);
  r.send(existed ? 204 : 201);
}
