/**
 * One better-sqlite3 connection with its prepared statements cached by SQL
 * text, WAL so readers never wait for the writer, and a busy timeout so two
 * processes sharing the file queue up instead of failing.
 */
import Database from 'better-sqlite3';

export type Params = unknown[];

export class SqliteDb {
  readonly raw: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(path: string) {
    this.raw = new Database(path);
    this.raw.pragma('journal_mode = WAL');
    this.raw.pragma('busy_timeout = 10000');
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
    return this.stmt(sql).run(...params);
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
