/**
 * A mysql2 promise pool with the few helpers the engine needs: server-side
 * prepared statements (mysql2 caches them per connection), short
 * transactions retried on deadlock, and MySQL error classification.
 *
 * Every distinct statement text is prepared once per connection and held by
 * the server, which allows max_prepared_stmt_count (16,382 on MariaDB) for
 * all its clients together. So statement texts never vary with a request:
 * LIMIT is a parameter (limit()), IN and VALUES lists are padded to a few
 * lengths (padList()), and each connection keeps at most
 * PREPARED_PER_CONNECTION of them (the least recently used is closed).
 */
import mysql from 'mysql2/promise';

export type Param = string | number | Buffer | null;

/** What both the pool and a transaction's connection can do. */
export interface Q {
  all<T>(sql: string, ...params: Param[]): Promise<T[]>;
  get<T>(sql: string, ...params: Param[]): Promise<T | undefined>;
  run(sql: string, ...params: Param[]): Promise<mysql.ResultSetHeader>;
}

type Executor = Pick<mysql.Pool, 'execute'> | Pick<mysql.PoolConnection, 'execute'>;

function makeQ(ex: Executor): Q {
  return {
    async all<T>(sql: string, ...params: Param[]): Promise<T[]> {
      const [rows] = await ex.execute<mysql.RowDataPacket[]>(sql, params);
      return rows as unknown as T[];
    },
    async get<T>(sql: string, ...params: Param[]): Promise<T | undefined> {
      const [rows] = await ex.execute<mysql.RowDataPacket[]>(sql, params);
      return rows[0] as unknown as T | undefined;
    },
    async run(sql: string, ...params: Param[]): Promise<mysql.ResultSetHeader> {
      const [res] = await ex.execute<mysql.ResultSetHeader>(sql, params);
      return res;
    },
  };
}

export class MysqlDb implements Q {
  readonly pool: mysql.Pool;
  readonly database: string;
  private readonly q: Q;

  constructor(url: string) {
    const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
    if (u.pathname.length <= 1) {
      throw new Error(`MySQL DSN "${url}" names no database: use mysql://user:pass@host:port/dbname`);
    }
    this.database = decodeURIComponent(u.pathname.slice(1));
    this.pool = mysql.createPool({
      host: u.hostname,
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: this.database,
      charset: 'utf8mb4',
      // For script(): a transaction sent as one batch. Statements still take
      // only placeholders, escaped by mysql2, never text from a request.
      multipleStatements: true,
      // mysql2's LRU of prepared statements per connection (default 16,000); an evicted one is closed on the server.
      maxPreparedStatements: Number(u.searchParams.get('maxPreparedStatements') ?? PREPARED_PER_CONNECTION),
      connectionLimit: Number(u.searchParams.get('connectionLimit') ?? 10),
      waitForConnections: true,
      enableKeepAlive: true,
      // How long opening a connection may take, ms (mysql2's default 10 s); replicas use less (replicas.ts).
      connectTimeout: Number(u.searchParams.get('connectTimeout') ?? 10_000),
      // No stack captured on every query: it cost more CPU than the query itself.
      // Errors still carry the SQL error code and message.
      trace: false,
    });
    // READ COMMITTED: no gap locks, so concurrent create_close inserts and
    // job claims from several trackers don't deadlock on index ranges.
    this.pool.on('connection', (conn) => {
      // The event passes mysql2's callback connection (not the promise one its
      // types say). With a callback: a connection lost right here (the server
      // going away) must not emit an unhandled 'error' and end the tracker.
      const core = conn as unknown as { query(sql: string, cb: (err: Error | null) => void): unknown; destroy(): void };
      core.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', (err) => { if (err) core.destroy(); });
    });
    this.q = retrying(makeQ(this.pool));
  }

  all<T>(sql: string, ...params: Param[]): Promise<T[]> { return this.q.all<T>(sql, ...params); }
  get<T>(sql: string, ...params: Param[]): Promise<T | undefined> { return this.q.get<T>(sql, ...params); }
  run(sql: string, ...params: Param[]): Promise<mysql.ResultSetHeader> { return this.q.run(sql, ...params); }

  /** Plain (unprepared) statement, for DDL that the binary protocol refuses. */
  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  /**
   * Runs fn in a transaction on one pooled connection. A deadlock or lock
   * wait timeout rolls back and reruns fn (it must only touch the database),
   * as InnoDB expects of its clients.
   */
  async tx<T>(fn: (q: Q) => Promise<T>, attempts = RETRIES): Promise<T> {
    return this.onConnection(attempts, async (conn) => {
      await conn.beginTransaction();
      const out = await fn(makeQ(conn));
      await conn.commit();
      return out;
    }, (conn) => conn.rollback());
  }

  /** One pooled connection for `run`; on an error `undo` on it, and a deadlock or lock wait timeout runs it again. */
  private async onConnection<T>(attempts: number, run: (c: mysql.PoolConnection) => Promise<T>, undo: (c: mysql.PoolConnection) => Promise<unknown>): Promise<T> {
    for (let i = 1; ; i++) {
      const conn = await this.pool.getConnection();
      try {
        return await run(conn);
      } catch (e) {
        await undo(conn).catch(() => undefined);
        if (i < attempts && isRetryable(e)) {
          await backoff(i);
          continue;
        }
        throw e;
      } finally {
        conn.release();
      }
    }
  }

  /**
   * Several statements in one round trip (text protocol, so no prepared
   * statement is kept): for a hot path whose transaction is a fixed batch,
   * such as delete. The batch must end its own transaction; on an error the
   * connection is rolled back before it goes back to the pool, and a
   * deadlock reruns the batch. Resolves to each statement's result.
   */
  script(sql: string, params: Param[], attempts = RETRIES): Promise<unknown[]> {
    return this.onConnection(attempts, async (conn) => (await conn.query(sql, params))[0] as unknown[], (conn) => conn.query('ROLLBACK'));
  }

  /**
   * Runs fn on one connection while holding a named server lock (GET_LOCK),
   * as the original does for work that must not interleave across trackers.
   */
  async withLock<T>(name: string, fn: (q: Q) => Promise<T>): Promise<T> {
    // Lock names are server-wide: scope them to this database (64 characters at most).
    name = `${this.database}:${name}`.slice(0, 64);
    const conn = await this.pool.getConnection();
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 30) AS l', [name]);
      if (Number(rows[0]?.l) !== 1) throw new Error(`timed out waiting for database lock ${name}; is another tracker stuck?`);
      try {
        return await fn(makeQ(conn));
      } finally {
        await conn.query('SELECT RELEASE_LOCK(?)', [name]);
      }
    } finally {
      conn.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function errno(e: unknown): number | undefined {
  const n = (e as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' ? n : undefined;
}

const RETRIES = 10;

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
}

/** Single statements can be deadlock victims too (autocommit): rerun them the same way. */
function retrying(q: Q): Q {
  const again = async <T>(op: () => Promise<T>): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await op();
      } catch (e) {
        if (i >= RETRIES || !isRetryable(e)) throw e;
        await backoff(i);
      }
    }
  };
  return {
    all: (sql, ...params) => again(() => q.all(sql, ...params)),
    get: (sql, ...params) => again(() => q.get(sql, ...params)),
    run: (sql, ...params) => again(() => q.run(sql, ...params)),
  };
}

/** ER_DUP_ENTRY. */
export function isDuplicate(e: unknown): boolean {
  return errno(e) === 1062;
}

/** ER_DUP_ENTRY on the primary key (rather than on a unique index). */
export function isDuplicatePrimary(e: unknown): boolean {
  return isDuplicate(e) && /for key '(?:[\w$]+\.)?PRIMARY'/i.test(String((e as Error).message));
}

/** ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT. */
export function isRetryable(e: unknown): boolean {
  const n = errno(e);
  return n === 1213 || n === 1205;
}

/** A non-negative integer for LIMIT. */
export function lim(n: number): number {
  const v = Math.trunc(Number(n));
  return Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * The parameter for `LIMIT ?`. A string: mysql2 sends a JS number as a
 * DOUBLE, which MySQL 8.0.22+ refuses for LIMIT; a string of digits works on
 * MySQL and MariaDB alike.
 */
export function limit(n: number): string {
  return String(lim(n));
}

/**
 * Prepared statements kept per pooled connection. The engine has about 100
 * statement texts in all and a tracker uses a few dozen often, so the hot
 * ones stay prepared; 10 connections hold at most 640 on the server.
 */
export const PREPARED_PER_CONNECTION = 64;

/** The lengths IN and VALUES lists are padded to; a longer list is split by the caller (see chunks()). */
const LIST_LENGTHS = [1, 4, 16, 64, 256, 1024];
export const MAX_LIST = LIST_LENGTHS[LIST_LENGTHS.length - 1];

/**
 * `items` (1 to MAX_LIST of them) padded to the next of LIST_LENGTHS by
 * repeating the last, so a statement over a list has six texts, not one per
 * length. Only for lists where a repeat changes nothing: `IN (...)`, and
 * multi-row `INSERT ... ON DUPLICATE KEY UPDATE` whose update is idempotent.
 */
export function padList<T>(items: T[]): T[] {
  const n = LIST_LENGTHS.find((l) => l >= items.length);
  if (items.length === 0 || n === undefined) throw new Error(`padList takes 1 to ${MAX_LIST} items, not ${items.length}`);
  return n === items.length ? items : items.concat(Array<T>(n - items.length).fill(items[items.length - 1]));
}

/** `n` copies of `one` ("?", "(?, ?)"), comma-separated: the placeholders of a padded list. */
export function marks(n: number, one = '?'): string {
  return Array<string>(n).fill(one).join(', ');
}

/** `items` in slices of at most `size`. */
export function chunks<T>(items: T[], size = MAX_LIST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
