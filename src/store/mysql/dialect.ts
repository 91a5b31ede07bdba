/**
 * MySQL's and MariaDB's spellings for the shared store logic (../sql/conn.ts).
 */
import type { Dialect, Q } from '../sql/conn';
import { isDuplicate, isDuplicatePrimary } from './db';

/**
 * skipLocked: the server has SKIP LOCKED; without it plain FOR UPDATE still
 * serialises claimers correctly. insertReturning: the server has
 * `INSERT … RETURNING` (MariaDB 10.5+).
 */
export function mysqlDialect(skipLocked: boolean, insertReturning = false): Dialect {
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
    insertReturning,
  };
}

/** major.minor.patch; MariaDB's handshake spelling `5.5.5-10.6.12-MariaDB` reads as 10.6.12. */
function parseVersion(version: string): [number, number, number] | null {
  const m = /^(?:5\.5\.5-(?=\d+\.\d+.*mariadb))?(\d+)\.(\d+)(?:\.(\d+))?/i.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

/** SKIP LOCKED exists from MariaDB 10.6 and MySQL 8.0.1. */
export function supportsSkipLocked(version: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  const [maj, min, patch] = v;
  if (/mariadb/i.test(version)) return maj > 10 || (maj === 10 && min >= 6);
  return maj > 8 || (maj === 8 && (min > 0 || patch >= 1));
}

/** `INSERT … RETURNING` exists from MariaDB 10.5; MySQL has none. */
export function supportsInsertReturning(version: string): boolean {
  const v = parseVersion(version);
  if (!v || !/mariadb/i.test(version)) return false;
  return v[0] > 10 || (v[0] === 10 && v[1] >= 5);
}
