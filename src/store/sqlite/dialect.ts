/**
 * SQLite's spellings for the shared store logic (../sql/conn.ts), and how
 * keys travel: as text, compared bytewise (BINARY collation), so a prefix
 * is the range [prefix, nextPrefix(prefix)).
 */
import { nextPrefix } from '../keys';
import type { Dialect, KeyCodec, Param, Q } from '../sql/conn';

function code(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  insertIgnore: 'INSERT OR IGNORE',
  replace: 'INSERT OR REPLACE',
  upsert: (key, set) => ` ON CONFLICT (${key}) DO UPDATE SET ${set}`,
  excluded: (col) => `excluded.${col}`,
  least: 'MIN',
  greatest: 'MAX',
  forUpdate: '',
  forShare: '',
  skipLocked: '',
  limit: (n) => Math.max(0, Math.trunc(Number(n)) || 0),
  concat: (a, b) => `(${a} || ${b})`,
  byteLength: (expr) => `LENGTH(CAST(${expr} AS BLOB))`,
  isDuplicate: (e) => code(e) === 'SQLITE_CONSTRAINT_UNIQUE' || code(e) === 'SQLITE_CONSTRAINT_PRIMARYKEY',
  isDuplicatePrimary: (e) => code(e) === 'SQLITE_CONSTRAINT_PRIMARYKEY',
  nameParam: (s) => s,
  async bumpFidCounter(q: Q, top: number): Promise<void> {
    await q.run("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'tempfile'", top);
  },
  // In process, a second statement costs no round trip.
  insertReturning: false,
};

/** Keys as SQLite text: no conversion, any key fits (SQLite does not enforce VARCHAR lengths). */
export const textKeys: KeyCodec = {
  param: '?',
  select: (expr) => expr,
  bind: (key) => key,
  tryBind: (key) => key,
  read: (v) => String(v ?? ''),
  startsWith(expr: string, prefix: string): { sql: string; params: Param[] } {
    const end = nextPrefix(prefix);
    return end === null
      ? { sql: `${expr} >= ?`, params: [prefix] }
      : { sql: `${expr} >= ? AND ${expr} < ?`, params: [prefix, end] };
  },
  // SUBSTR counts characters in text.
  after: (prefix) => Array.from(prefix).length + 1,
};
