/**
 * WebDAV write locks (class 2): who holds what, for how long. A lock covers
 * its root and, with depth infinity, everything below it. `blocked` is the
 * question every write asks: is there a lock on this resource whose token
 * the request did not submit? TrackerLocks keeps them in the tracker's
 * database, so every bridge process of the cluster honours them;
 * MemoryLocks (this process only) is for a stock tracker.
 */
import { randomUUID } from 'node:crypto';
import type { TrackerClient } from '../client';
import { isMogError } from '../protocol';

export interface DavLock {
  token: string;
  /** The path the lock was taken on (its lockroot). */
  root: string;
  /** 0, or -1 for infinity. */
  depth: number;
  exclusive: boolean;
  /** The owner element's XML, as the client sent it ('' for none). */
  owner: string;
  /** The authenticated user who took it ('' without authentication). */
  user: string;
  timeoutSec: number;
  expires: number;
}

export interface LockStore {
  /** Locks whose scope includes `path` (its own, and its ancestors' depth-infinity locks). */
  covering(path: string): Promise<DavLock[]>;
  /** Locks rooted at or below `path`. */
  within(path: string): Promise<DavLock[]>;
  /** Both of the above, in one question (PROPFIND's lockdiscovery for a collection and its members). */
  around(path: string): Promise<DavLock[]>;
  /** Takes a lock, or throws LockConflict. */
  acquire(req: Omit<DavLock, 'token' | 'expires'>): Promise<DavLock>;
  refresh(token: string, timeoutSec: number): Promise<DavLock | null>;
  release(token: string): Promise<boolean>;
  /** The first lock covering `path` (or, with deep, anything below it) whose token is not in `tokens`. */
  blocked(path: string, tokens: Set<string>, deep?: boolean): Promise<DavLock | null>;
}

export class LockConflict extends Error {}

export function inScope(lock: DavLock, path: string): boolean {
  if (lock.root === path) return true;
  return lock.depth !== 0 && isBelow(path, lock.root);
}

export function isBelow(path: string, dir: string): boolean {
  return dir === '/' ? path !== '/' : path.startsWith(dir + '/');
}

export class MemoryLocks implements LockStore {
  private readonly locks = new Map<string, DavLock>();

  private live(): DavLock[] {
    const now = Date.now();
    for (const [t, l] of this.locks) if (l.expires <= now) this.locks.delete(t);
    return [...this.locks.values()];
  }

  async covering(path: string): Promise<DavLock[]> {
    return this.live().filter((l) => inScope(l, path));
  }

  async within(path: string): Promise<DavLock[]> {
    return this.live().filter((l) => l.root === path || isBelow(l.root, path));
  }

  async around(path: string): Promise<DavLock[]> {
    return this.live().filter((l) => inScope(l, path) || isBelow(l.root, path));
  }

  async acquire(req: Omit<DavLock, 'token' | 'expires'>): Promise<DavLock> {
    const deep = req.depth !== 0 ? await this.within(req.root) : [];
    for (const l of [...await this.covering(req.root), ...deep]) {
      if (l.exclusive || req.exclusive) throw new LockConflict(`${l.root} is locked`);
    }
    const lock: DavLock = { ...req, token: `opaquelocktoken:${randomUUID()}`, expires: Date.now() + req.timeoutSec * 1000 };
    this.locks.set(lock.token, lock);
    return lock;
  }

  async refresh(token: string, timeoutSec: number): Promise<DavLock | null> {
    const l = this.live().find((x) => x.token === token);
    if (!l) return null;
    l.timeoutSec = timeoutSec;
    l.expires = Date.now() + timeoutSec * 1000;
    return l;
  }

  async release(token: string): Promise<boolean> {
    this.live();
    return this.locks.delete(token);
  }

  async blocked(path: string, tokens: Set<string>, deep = false): Promise<DavLock | null> {
    const ls = [...await this.covering(path), ...(deep ? await this.within(path) : [])];
    return ls.find((l) => !tokens.has(l.token)) ?? null;
  }
}

/**
 * Locks in the tracker's database (commands mogfs_dav_*). The tracker keeps
 * bridge paths, `/<domain>/<path in the domain>`; this server's paths are
 * mapped to them and back with its --domain and --prefix.
 */
export class TrackerLocks implements LockStore {
  /** What a path of this server is prefixed with to be a bridge path ('' when serving every domain). */
  private readonly base: string;

  constructor(private readonly tracker: TrackerClient, domain: string | undefined, prefix: string) {
    this.base = domain ? `/${domain}${prefix ? `/${prefix.replace(/\/+$/, '')}` : ''}` : '';
  }

  private toBridge(path: string): string {
    return path === '/' ? this.base || '/' : this.base + path;
  }

  private fromBridge(path: string): string {
    if (!this.base) return path;
    if (path === this.base) return '/';
    // A lock taken above what this server shows is rooted, as far as it can tell, at its root.
    return path.startsWith(`${this.base}/`) ? path.slice(this.base.length) : '/';
  }

  private async list(path: string, below: boolean): Promise<DavLock[]> {
    const r = await this.tracker.call('mogfs_dav_locks', { path: this.toBridge(path), below: below ? 1 : 0 });
    const out: DavLock[] = [];
    for (let i = 1; i <= Number(r.lock_count ?? 0); i++) out.push(this.lockOf(r, `lock_${i}_`));
    return out;
  }

  private lockOf(r: Record<string, string>, p: string): DavLock {
    return {
      token: r[`${p}token`], root: this.fromBridge(r[`${p}path`]), depth: Number(r[`${p}depth`]),
      exclusive: r[`${p}exclusive`] === '1', owner: r[`${p}owner`] ?? '', user: r[`${p}user`] ?? '',
      timeoutSec: Number(r[`${p}timeout`]), expires: Number(r[`${p}expires`]),
    };
  }

  async covering(path: string): Promise<DavLock[]> {
    return this.list(path, false);
  }

  async within(path: string): Promise<DavLock[]> {
    return (await this.list(path, true)).filter((l) => l.root === path || isBelow(l.root, path));
  }

  async around(path: string): Promise<DavLock[]> {
    return this.list(path, true);
  }

  async acquire(req: Omit<DavLock, 'token' | 'expires'>): Promise<DavLock> {
    try {
      const r = await this.tracker.call('mogfs_dav_lock', {
        path: this.toBridge(req.root), depth: req.depth === 0 ? 0 : -1, exclusive: req.exclusive ? 1 : 0,
        owner: req.owner, user: req.user, timeout: req.timeoutSec,
      });
      return { ...req, token: r.token, expires: Number(r.expires) };
    } catch (e) {
      if (isMogError(e, 'dav_locked')) throw new LockConflict((e as Error).message);
      throw e;
    }
  }

  async refresh(token: string, timeoutSec: number): Promise<DavLock | null> {
    try {
      return this.lockOf(await this.tracker.call('mogfs_dav_lock_refresh', { token, timeout: timeoutSec }), '');
    } catch (e) {
      if (isMogError(e, 'no_dav_lock')) return null;
      throw e;
    }
  }

  async release(token: string): Promise<boolean> {
    return (await this.tracker.call('mogfs_dav_unlock', { token })).released === '1';
  }

  async blocked(path: string, tokens: Set<string>, deep = false): Promise<DavLock | null> {
    return (await this.list(path, deep)).find((l) => !tokens.has(l.token)) ?? null;
  }
}
