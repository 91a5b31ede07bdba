/**
 * What the shared store logic (this folder) needs from an engine: statements
 * with `?` parameters, transactions, a section no other tracker runs at once,
 * and a dialect for the few places where SQLite and MySQL spell SQL
 * differently. The engines (../sqlite, ../mysql) keep only connection
 * handling, schema creation and MySQL's one-round-trip batches.
 */

export type Param = string | number | Buffer | null;

export interface RunResult {
  /** Rows the statement matched (MySQL connects with CLIENT_FOUND_ROWS, so both engines count matches). */
  changes: number;
  /** The auto-increment id an INSERT assigned. */
  insertId: number;
}

/** Statements, on the pool or inside one transaction. */
export interface Q {
  all<T>(sql: string, ...params: Param[]): Promise<T[]>;
  get<T>(sql: string, ...params: Param[]): Promise<T | undefined>;
  run(sql: string, ...params: Param[]): Promise<RunResult>;
}

export interface SqlDb extends Q {
  readonly dialect: Dialect;
  /**
   * Runs fn in one write transaction. fn must only touch the database
   * through `q` (a statement on the db itself would wait for this very
   * transaction on SQLite): a deadlock (MySQL) or a lock held by another
   * process (SQLite) rolls back and runs fn again.
   */
  tx<T>(fn: (q: Q) => Promise<T>): Promise<T>;
  /**
   * Runs fn so that no other tracker on the database runs a section of the
   * same name at once (MySQL: GET_LOCK on one connection, statements outside
   * a transaction; SQLite: one write transaction).
   */
  serialized<T>(name: string, fn: (q: Q) => Promise<T>): Promise<T>;
  /**
   * Runs fn while no other tracker on the database runs a section of the
   * same name, fn's statements going to the db as usual (MySQL: GET_LOCK
   * held on a connection of its own; SQLite, one tracker per file: a mutex
   * in this process).
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Runs fn's statements, which stay correct as separate autocommit
   * statements, in the cheapest way the engine has: MySQL sends them as
   * they are (no BEGIN/COMMIT round trips), SQLite in one transaction (one
   * commit to the WAL instead of one each).
   */
  batch<T>(fn: (q: Q) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The spellings that differ between the engines. */
export interface Dialect {
  readonly name: 'sqlite' | 'mysql';
  /** `INSERT OR IGNORE` / `INSERT IGNORE`. */
  readonly insertIgnore: string;
  /** `INSERT OR REPLACE` / `REPLACE`. */
  readonly replace: string;
  /** The upsert clause after `INSERT ... VALUES (...)`: on a conflict of `key` (the primary key), set `set`. */
  upsert(key: string, set: string): string;
  /** In an upsert's `set`: the value the failed insert carried for `col`. */
  excluded(col: string): string;
  /** Two-argument minimum and maximum (`MIN`/`MAX` on SQLite, `LEAST`/`GREATEST` on MySQL). */
  readonly least: string;
  readonly greatest: string;
  /** Row locks after a SELECT inside a transaction ('' on SQLite, whose write transaction locks the file). */
  readonly forUpdate: string;
  readonly forShare: string;
  /** ` SKIP LOCKED` where the server has it, after forUpdate. */
  readonly skipLocked: string;
  /** The parameter for `LIMIT ?`. */
  limit(n: number): Param;
  /** SQL concatenating two string expressions. */
  concat(a: string, b: string): string;
  /** SQL for the length in bytes of a key column expression. */
  byteLength(expr: string): string;
  /** A UNIQUE or PRIMARY KEY violation, and one of the primary key in particular. */
  isDuplicate(e: unknown): boolean;
  isDuplicatePrimary(e: unknown): boolean;
  /** The parameter for a name in one of our own name columns (xattr names: TEXT on SQLite, VARBINARY on MySQL). */
  nameParam(s: string): Param;
  /** Moves tempfile's auto-increment counter past `top`, so the next fid is above every fid in use. */
  bumpFidCounter(q: Q, top: number): Promise<void>;
  /**
   * `INSERT … RETURNING` with a subquery on the new row works (MariaDB 10.5+):
   * a new fid and the check that it is free come back in one round trip.
   * Off where each statement costs no round trip anyway (SQLite) or the
   * server lacks it (MySQL).
   */
  readonly insertReturning: boolean;
}

/** The most copies devcount records (file.devcount is a TINYINT UNSIGNED in the original's schema). */
export const MAX_DEVCOUNT = 255;

/** A non-negative integer for LIMIT. */
export function lim(n: number): number {
  const v = Math.trunc(Number(n));
  return Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * How keys travel to and from one dkey column: SQLite keeps the key's text,
 * MySQL its UTF-8 bytes in our VARBINARY column or the column's charset in
 * one the original made (../mysql/keysql.ts).
 */
export interface KeyCodec {
  /** SQL for a key parameter. */
  readonly param: string;
  /** SQL reading the column `expr` as something read() turns into the key. */
  select(expr: string): string;
  /** The parameter for `key`; MogError key_charset when the column cannot hold it. */
  bind(key: string): Param;
  /** Like bind(), but null for a key the column cannot hold (so no row has it). */
  tryBind(key: string): Param | null;
  /** The key of a row, from what select() read. */
  read(v: unknown): string;
  /** The condition "expr starts with prefix" (prefix not empty) as an index range; null when no key can. */
  startsWith(expr: string, prefix: string): { sql: string; params: Param[] } | null;
  /** The 1-based SUBSTRING position just past `prefix` in a stored key (bytes or characters, as the column counts). */
  after(prefix: string): number;
}
