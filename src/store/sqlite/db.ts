/**
 * One better-sqlite3 connection with its prepared statements cached by SQL
 * text, WAL so readers never wait for the writer, and waiting for another
 * process's write lock done off the event loop: better-sqlite3 is
 * synchronous, so SQLite's own busy timeout blocks the whole process. It is
 * kept short, and a call that still finds the database locked is retried
 * after an asynchronous sleep (`retrying`), for up to `busyWaitMs` in all.
 */
import Database from 'better-sqlite3';

export type Params = unknown[];

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

export class SqliteDb {
  readonly raw: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  /** Writes made durable so far (autocommit statements and transactions): a retry must not repeat one. */
  private commits = 0;

  constructor(
    readonly path: string,
    private readonly busyWaitMs = DEFAULT_BUSY_WAIT_MS,
  ) {
    this.raw = new Database(path);
    this.raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.raw.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode; only an OS crash may lose the last commits.
    this.raw.pragma('synchronous = NORMAL');
  }

  stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.raw.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  get<T>(sql: string, ...params: Params): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: Params): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  run(sql: string, ...params: Params): Database.RunResult {
    const r = this.stmt(sql).run(...params);
    if (!this.raw.inTransaction) this.commits++;
    return r;
  }

  /**
   * Runs one store call (synchronous SQLite work). While another process
   * holds the lock it needs, the call is retried after an asynchronous sleep,
   * so the event loop keeps serving everything else; a call is retried only
   * when the failed attempt committed nothing (a transaction rolls back as a
   * whole, so one that met the lock left no trace). After `busyWaitMs` it
   * fails with an error that says so.
   */
  async retrying<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.busyWaitMs;
    for (let sleep = 1; ; sleep = Math.min(sleep * 2, MAX_RETRY_SLEEP_MS)) {
      const before = this.commits;
      try {
        return fn();
      } catch (e) {
        if (!isBusy(e) || this.commits !== before) throw e;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `the SQLite database ${this.path} stayed locked by another process for ${this.busyWaitMs} ms ` +
            '(another tracker or tool holding a write transaction); try again, and run trackers that share a database on MySQL',
            { cause: e },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(sleep, left)));
      }
    }
  }

  /**
   * Runs fn in a write transaction taken up front (BEGIN IMMEDIATE), so
   * read-then-write is race free; nested calls become savepoints. Done with
   * cached statements rather than better-sqlite3's transaction(), which
   * builds a new wrapper function on every call.
   */
  tx<T>(fn: () => T): T {
    if (this.raw.inTransaction) {
      this.stmt('SAVEPOINT mogfs_tx').run();
      try {
        const r = fn();
        this.stmt('RELEASE mogfs_tx').run();
        return r;
      } catch (e) {
        this.stmt('ROLLBACK TO mogfs_tx').run();
        this.stmt('RELEASE mogfs_tx').run();
        throw e;
      }
    }
    this.stmt('BEGIN IMMEDIATE').run();
    try {
      const r = fn();
      this.stmt('COMMIT').run();
      this.commits++;
      return r;
    } catch (e) {
      // SQLite may already have rolled back (e.g. SQLITE_FULL); then there is nothing to undo.
      if (this.raw.inTransaction) this.stmt('ROLLBACK').run();
      throw e;
    }
  }

  close(): void {
    this.stmts.clear();
    this.raw.close();
  }
}

/** True for a UNIQUE or PRIMARY KEY violation. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
