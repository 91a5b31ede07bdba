/**
 * One better-sqlite3 connection behind the async SqlDb interface (../sql),
 * with its prepared statements cached by SQL text, WAL so readers never wait
 * for the writer, and waiting for another process's write lock done off the
 * event loop: better-sqlite3 is synchronous, so SQLite's own busy timeout
 * would block the whole process. It is kept short, and a statement or
 * transaction that still finds the database locked is retried after an
 * asynchronous sleep, for up to `busyWaitMs` in all.
 *
 * A transaction spans awaits, so it holds the connection: statements from
 * elsewhere in the process wait until it commits (they would otherwise run
 * inside it). Every statement itself is synchronous and takes microseconds.
 */
import Database from 'better-sqlite3';
import type { Dialect, Param, Q, RunResult, SqlDb } from '../sql/conn';
import { sqliteDialect } from './dialect';

/** The longest one statement blocks the event loop waiting for another process's lock. */
export const BUSY_TIMEOUT_MS = 20;
/** How long a call keeps retrying, off the loop, before it fails (SQLite's busy timeout was this). */
export const DEFAULT_BUSY_WAIT_MS = 10_000;
/** Longest sleep between retries. */
const MAX_RETRY_SLEEP_MS = 50;

/** SQLITE_BUSY and its extended codes (_RECOVERY, _SNAPSHOT, _TIMEOUT). */
function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class SqliteDb implements SqlDb {
  readonly dialect: Dialect = sqliteDialect;
  private db: Database.Database | null = null;
  private closed = false;
  private readonly stmts = new Map<string, Database.Statement>();
  /** A transaction holds the connection; these wait for it, in order. */
  private held = false;
  private readonly waiting: (() => void)[] = [];
  /** exclusive(): the last section of each name, which the next waits for. */
  private readonly sections = new Map<string, Promise<unknown>>();
  /** Statements for the transaction that holds the connection. */
  private readonly inTx: Q = {
    all: async <T>(sql: string, ...p: Param[]) => this.stmt(sql).all(...p) as T[],
    get: async <T>(sql: string, ...p: Param[]) => this.stmt(sql).get(...p) as T | undefined,
    run: async (sql: string, ...p: Param[]) => result(this.stmt(sql).run(...p)),
  };

  constructor(readonly path: string, private readonly busyWaitMs = DEFAULT_BUSY_WAIT_MS) {}

  /** The connection, opened on first use. */
  get raw(): Database.Database {
    if (this.closed) throw new Error(`the metadata store ${this.path} is closed`);
    if (!this.db) {
      const db = new Database(this.path);
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      // NORMAL is durable across application crashes in WAL mode; only an OS crash may lose the last commits.
      db.pragma('synchronous = NORMAL');
      this.db = db;
    }
    return this.db;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.raw.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  all<T>(sql: string, ...p: Param[]): Promise<T[]> { return this.autocommit(() => this.stmt(sql).all(...p) as T[]); }
  get<T>(sql: string, ...p: Param[]): Promise<T | undefined> { return this.autocommit(() => this.stmt(sql).get(...p) as T | undefined); }
  run(sql: string, ...p: Param[]): Promise<RunResult> { return this.autocommit(() => result(this.stmt(sql).run(...p))); }

  /** One statement on its own: at once when no transaction holds the connection; a lock held by another process is waited for. */
  private async autocommit<T>(fn: () => T): Promise<T> {
    if (this.held) {
      // Wait for the transaction, then run while holding the connection ourselves.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      try {
        return fn();
      } catch (e) {
        if (!isBusy(e)) throw e;
        return await this.retrying(async () => fn());
      } finally {
        this.release();
      }
    }
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e)) throw e;
    }
    return this.holding(() => this.retrying(async () => fn()));
  }

  /**
   * Runs fn in a write transaction taken up front (BEGIN IMMEDIATE), so
   * read-then-write is race free. Another process's write lock is waited for
   * off the loop; a transaction that meets it midway rolls back as a whole
   * and runs again.
   */
  async tx<T>(fn: (q: Q) => Promise<T>): Promise<T> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held = true;
    try {
      try {
        return await this.attempt(fn);
      } catch (e) {
        if (!isBusy(e)) throw e;
      }
      return await this.retrying(() => this.attempt(fn));
    } finally {
      this.release();
    }
  }

  /** One run of a transaction; on any error it is rolled back. */
  private async attempt<T>(fn: (q: Q) => Promise<T>): Promise<T> {
    this.stmt('BEGIN IMMEDIATE').run();
    try {
      const out = await fn(this.inTx);
      this.stmt('COMMIT').run();
      return out;
    } catch (e) {
      // SQLite may already have rolled back (e.g. SQLITE_FULL); then there is nothing to undo.
      if (this.raw.inTransaction) this.stmt('ROLLBACK').run();
      throw e;
    }
  }

  /** One SQLite file has one writer at a time: a write transaction is the serialized section. */
  serialized<T>(_name: string, fn: (q: Q) => Promise<T>): Promise<T> {
    return this.tx(fn);
  }

  batch<T>(fn: (q: Q) => Promise<T>): Promise<T> {
    return this.tx(fn);
  }

  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    let tail = this.sections.get(name) ?? Promise.resolve();
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    this.sections.set(name, tail);
    return run;
  }

  /** Synchronous work on the raw connection (schema creation), holding it like a transaction. */
  withRaw<T>(fn: (db: Database.Database) => T): Promise<T> {
    return this.holding(() => this.retrying(async () => fn(this.raw)));
  }

  /** Runs fn holding the connection; callers queue in order. */
  private async holding<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held = true;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Hands the connection to the next waiter, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }

  /** Runs attempt again, after an asynchronous sleep, while it fails on another process's lock (it must have left no trace). */
  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.busyWaitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, MAX_RETRY_SLEEP_MS)) {
      try {
        return await attempt();
      } catch (e) {
        if (!isBusy(e)) throw e;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `the SQLite database ${this.path} stayed locked by another process for ${this.busyWaitMs} ms ` +
            '(another tracker or tool holding a write transaction); try again, and run trackers that share a database on MySQL',
            { cause: e },
          );
        }
        await sleep(Math.min(pause, left));
      }
    }
  }

  async close(): Promise<void> {
    this.stmts.clear();
    this.db?.close();
    this.db = null;
    this.closed = true;
  }
}

function result(r: Database.RunResult): RunResult {
  return { changes: r.changes, insertId: Number(r.lastInsertRowid) };
}
