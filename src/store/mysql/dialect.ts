/**
 * MySQL's and MariaDB's spellings for the shared store logic (../sql/conn.ts).
 */
import type { Dialect, Q } from '../sql/conn';
import { isDuplicate, isDuplicatePrimary } from './db';

/** skipLocked: the server has SKIP LOCKED; without it plain FOR UPDATE still serialises claimers correctly. */
export function mysqlDialect(skipLocked: boolean): Dialect {
  return {
    name: 'mysql',
    insertIgnore: 'INSERT IGNORE',
    replace: 'REPLACE',
    upsert: (_key, set) => ` ON DUPLICATE KEY UPDATE ${set}`,
    excluded: (col) => `VALUES(${col})`,
    least: 'LEAST',
    greatest: 'GREATEST',
    forUpdate: ' FOR UPDATE',
    forShare: ' LOCK IN SHARE MODE',
    skipLocked: skipLocked ? ' SKIP LOCKED' : '',
    // A string: mysql2 sends a JS number as a DOUBLE, which MySQL 8.0.22+
    // refuses for LIMIT; a string of digits works on MySQL and MariaDB alike.
    limit: (n) => String(Math.max(0, Math.trunc(Number(n)) || 0)),
    concat: (a, b) => `CONCAT(${a}, ${b})`,
    byteLength: (expr) => `LENGTH(CAST(${expr} AS BINARY))`,
    isDuplicate,
    isDuplicatePrimary,
    // Our VARBINARY name columns hold UTF-8 bytes.
    nameParam: (s) => Buffer.from(s, 'utf8'),
    /** InnoDB moves the counter past an explicit id: insert one at `top` (if free) and take it back. */
    async bumpFidCounter(q: Q, top: number): Promise<void> {
      const seeded = await q.run('INSERT IGNORE INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, 0, 0, 0, NULL, NULL)', top);
      if (seeded.changes > 0) await q.run('DELETE FROM tempfile WHERE fid = ? AND createtime = 0', top);
    },
  };
}

/** SKIP LOCKED exists from MariaDB 10.6 and MySQL 8.0.1. */
export function supportsSkipLocked(version: string): boolean {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) return false;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (/mariadb/i.test(version)) return maj > 10 || (maj === 10 && min >= 6);
  return maj > 8 || (maj === 8 && (min > 0 || patch >= 1));
}
