/**
 * A mysql2 promise pool behind the SqlDb interface (../sql/conn.ts): server-side
 * prepared statements (mysql2 caches them per connection), short
 * transactions retried on deadlock, and MySQL error classification.
 *
 * Every distinct statement text is prepared once per connection and held by
 * the server, which allows max_prepared_stmt_count (16,382 on MariaDB) for
 * all its clients together. So statement texts never vary with a request:
 * LIMIT is a parameter (dialect.limit), IN and VALUES lists are padded to a
 * few lengths (../sql/lists.ts), and each connection keeps at most
 * PREPARED_PER_CONNECTION of them (the least recently used is closed).
 */
import mysql from 'mysql2/promise';
import type { Dialect, Param, Q, RunResult, SqlDb } from '../sql/conn';
import { mysqlDialect } from './dialect';

export type { Param, Q } from '../sql/conn';

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
    async run(sql: string, ...params: Param[]): Promise<RunResult> {
      const [res] = await ex.execute<mysql.ResultSetHeader>(sql, params);
      return { changes: res.affectedRows, insertId: Number(res.insertId) };
    },
  };
}

export class MysqlDb implements SqlDb {
  readonly pool: mysql.Pool;
  dialect: Dialect = mysqlDialect(false);
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
      // ?socket=/run/mysqld/mysqld.sock: the server's Unix socket instead of TCP (a server on this machine).
      socketPath: u.searchParams.get('socket') ?? undefined,
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
  run(sql: string, ...params: Param[]): Promise<RunResult> { return this.q.run(sql, ...params); }

  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.serialized(name, () => fn());
  }

  /** Autocommit statements on the pool: no transaction round trips. */
  batch<T>(fn: (q: Q) => Promise<T>): Promise<T> {
    return fn(this.q);
  }

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
  async serialized<T>(name: string, fn: (q: Q) => Promise<T>): Promise<T> {
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

/**
 * Prepared statements kept per pooled connection. The engine has about 100
 * statement texts in all and a tracker uses a few dozen often, so the hot
 * ones stay prepared; 10 connections hold at most 640 on the server.
 */
export const PREPARED_PER_CONNECTION = 64;
