/**
 * WebDAV locks for the bridge, shared by every bridge process through the
 * tracker (table mogfs_dav_lock, ../../store/davlocks.ts). Paths are bridge
 * paths, `/<domain>/<path in the domain>`.
 *
 *   mogfs_dav_lock path depth exclusive owner user timeout -> token, expires
 *                  (ERR dav_locked when a lock conflicts)
 *   mogfs_dav_locks path [below=1] -> lock_count, lock_N_{token,path,depth,exclusive,owner,user,timeout,expires}
 *   mogfs_dav_lock_refresh token timeout -> the lock (ERR no_dav_lock when it is gone)
 *   mogfs_dav_unlock token -> released (1 or 0)
 */
import { randomUUID } from 'node:crypto';
import type { DavLockRow } from '../../store';
import { mogErr } from './errors';
import { int, truthy } from './lookup';
import type { Handler, ReplyArgs } from './types';

/** Longest lock a client can hold without refreshing it, seconds. */
const MAX_TIMEOUT = 7 * 24 * 3600;

function path(v: string | undefined): string {
  if (!v || !v.startsWith('/') || v.length > 4096) throw mogErr('bad_params', 'path must be an absolute bridge path');
  return v;
}

function timeout(v: string | undefined): number {
  const t = int(v ?? '');
  if (!(t >= 1 && t <= MAX_TIMEOUT)) throw mogErr('bad_params', `timeout must be 1..${MAX_TIMEOUT} seconds`);
  return t;
}

function putLock(out: ReplyArgs, p: string, l: DavLockRow): void {
  out[`${p}token`] = l.token;
  out[`${p}path`] = l.path;
  out[`${p}depth`] = l.depth;
  out[`${p}exclusive`] = l.exclusive ? 1 : 0;
  out[`${p}owner`] = l.owner;
  out[`${p}user`] = l.user;
  out[`${p}timeout`] = l.timeoutSec;
  out[`${p}expires`] = l.expires;
}

const mogfs_dav_lock: Handler = async ({ ctx }, args) => {
  const timeoutSec = timeout(args.timeout);
  const depth = int(args.depth ?? '0');
  if (depth !== 0 && depth !== -1) throw mogErr('bad_params', 'depth is 0 or -1 (infinity)');
  const lock: DavLockRow = {
    token: `opaquelocktoken:${randomUUID()}`, path: path(args.path), depth, exclusive: truthy(args.exclusive),
    owner: args.owner ?? '', user: args.user ?? '', timeoutSec, expires: Date.now() + timeoutSec * 1000,
  };
  const clash = await ctx.store.davLocks.acquire(lock);
  if (clash) throw mogErr('dav_locked', `${clash.path} is locked (${clash.exclusive ? 'exclusive' : 'shared'}, depth ${clash.depth === 0 ? 0 : 'infinity'})`);
  return { token: lock.token, expires: lock.expires };
};

const mogfs_dav_locks: Handler = async ({ ctx }, args) => {
  const locks = await ctx.store.davLocks.locks(path(args.path), truthy(args.below));
  const out: ReplyArgs = { lock_count: locks.length };
  locks.forEach((l, i) => putLock(out, `lock_${i + 1}_`, l));
  return out;
};

const mogfs_dav_lock_refresh: Handler = async ({ ctx }, args) => {
  if (!args.token) throw mogErr('bad_params', 'token is required');
  const l = await ctx.store.davLocks.refresh(args.token, timeout(args.timeout));
  if (!l) throw mogErr('no_dav_lock', 'no such lock (it expired or was removed)');
  const out: ReplyArgs = {};
  putLock(out, '', l);
  return out;
};

const mogfs_dav_unlock: Handler = async ({ ctx }, args) => {
  if (!args.token) throw mogErr('bad_params', 'token is required');
  return { released: (await ctx.store.davLocks.release(args.token)) ? 1 : 0 };
};

export const commands: Record<string, Handler> = { mogfs_dav_lock, mogfs_dav_locks, mogfs_dav_lock_refresh, mogfs_dav_unlock };
