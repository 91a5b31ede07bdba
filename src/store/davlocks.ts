/**
 * WebDAV locks every bridge process of a cluster honours, in our table
 * mogfs_dav_lock: one implementation for both engines over a three-call SQL
 * interface. A lock names a bridge path (`/<domain>/<path in the domain>`);
 * it covers that path and, at depth infinity, everything below it. Only live
 * locks are kept (expired ones are removed when locks are taken), so the
 * table stays small and is read whole: one statement text, whatever the path.
 */

export interface DavLockRow {
  token: string;
  path: string;
  /** 0, or -1 for infinity. */
  depth: number;
  exclusive: boolean;
  /** The owner element's XML as the client sent it. */
  owner: string;
  /** Who took it ('' without authentication). */
  user: string;
  timeoutSec: number;
  /** Unix milliseconds. */
  expires: number;
}

/** What an engine provides: plain statements, and a section no other tracker runs at once. */
export interface DavLockSql {
  all<T>(sql: string, ...params: (string | number | Buffer)[]): Promise<T[]>;
  run(sql: string, ...params: (string | number | Buffer)[]): Promise<unknown>;
  /** fn runs while no other tracker runs it, with statements `q` it must use for its work. */
  serialized<T>(fn: (q: Pick<DavLockSql, 'all' | 'run'>) => Promise<T>): Promise<T>;
}

interface Row {
  token: string;
  lockpath: Buffer | string;
  depth: number;
  excl: number;
  owner: Buffer | string;
  username: Buffer | string;
  timeout: number;
  expires: number | string;
}

const text = (v: Buffer | string): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

export function isBelow(path: string, dir: string): boolean {
  return dir === '/' ? path !== '/' : path.startsWith(`${dir}/`);
}

/** Whether `lock` applies to `path`. */
export function covers(lock: DavLockRow, path: string): boolean {
  return lock.path === path || (lock.depth !== 0 && isBelow(path, lock.path));
}

export class DavLockTable {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly sql: DavLockSql) {}

  /** Live locks that cover `path`, and with `below` also those taken inside it. */
  async locks(path: string, below: boolean, now = Date.now()): Promise<DavLockRow[]> {
    return touching(await this.live(now), path, below);
  }

  /** Takes `lock` unless a live one conflicts with it; resolves to the conflicting lock, or null when taken. */
  acquire(lock: DavLockRow, now = Date.now()): Promise<DavLockRow | null> {
    return this.exclusive(async (q) => {
      await q.run('DELETE FROM mogfs_dav_lock WHERE expires <= ?', now);
      const clash = touching(await this.live(now, q), lock.path, lock.depth !== 0).find((l) => l.exclusive || lock.exclusive);
      if (clash) return clash;
      await q.run(
        'INSERT INTO mogfs_dav_lock (token, lockpath, depth, excl, owner, username, timeout, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        lock.token, Buffer.from(lock.path), lock.depth, lock.exclusive ? 1 : 0, Buffer.from(lock.owner), Buffer.from(lock.user), lock.timeoutSec, lock.expires,
      );
      return null;
    });
  }

  /** A live lock's new timeout from now; null when it is gone. */
  async refresh(token: string, timeoutSec: number, now = Date.now()): Promise<DavLockRow | null> {
    await this.sql.run('UPDATE mogfs_dav_lock SET timeout = ?, expires = ? WHERE token = ? AND expires > ?', timeoutSec, now + timeoutSec * 1000, token, now);
    return (await this.live(now)).find((l) => l.token === token) ?? null;
  }

  async release(token: string): Promise<boolean> {
    const before = (await this.live(Date.now())).some((l) => l.token === token);
    await this.sql.run('DELETE FROM mogfs_dav_lock WHERE token = ?', token);
    return before;
  }

  private async live(now: number, q: Pick<DavLockSql, 'all'> = this.sql): Promise<DavLockRow[]> {
    const rows = await q.all<Row>('SELECT token, lockpath, depth, excl, owner, username, timeout, expires FROM mogfs_dav_lock WHERE expires > ?', now);
    return rows.map((r) => ({
      token: r.token, path: text(r.lockpath), depth: Number(r.depth), exclusive: Number(r.excl) === 1,
      owner: text(r.owner), user: text(r.username), timeoutSec: Number(r.timeout), expires: Number(r.expires),
    }));
  }

  /** One acquisition at a time in this tracker, and (through the engine) across trackers. */
  private exclusive<T>(fn: (q: Pick<DavLockSql, 'all' | 'run'>) => Promise<T>): Promise<T> {
    const run = this.chain.catch(() => undefined).then(() => this.sql.serialized(fn));
    this.chain = run;
    return run;
  }
}

/** The locks that cover `path`, and with `below` also those taken inside it. */
function touching(locks: DavLockRow[], path: string, below: boolean): DavLockRow[] {
  return locks.filter((l) => covers(l, path) || (below && isBelow(l.path, path)));
}
