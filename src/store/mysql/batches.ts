/**
 * MySQL's one-round-trip forms of the hot transactions: the statements of
 * ../sql (files.ts commitFile; deletes.ts finishDeletedChunk) sent as one
 * batch (MysqlDb.script), with session variables carrying results between
 * them (delete by key is in keydeletes.ts). A round trip costs the tracker
 * about 50 µs of CPU, more than a statement's work (create_close was six); a
 * batch goes as text, which costs about two prepared round trips, so only
 * transactions of three or more statements are sent this way. Anything off
 * the common case (a key that is taken) goes back to the shared code.
 * Batches hold only placeholders, escaped by mysql2.
 */
import { ATTR_COLUMNS, attrValues } from '../attrs';
import { MAX_DEVCOUNT, type Param } from '../sql/conn';
import { marks } from '../sql/lists';
import type { CommitFile } from '../types';
import type { MysqlDb } from './db';
import type { KeySql } from './keysql';

/**
 * create_close of a new key in one transaction sent as one batch: the
 * tempfile row goes, and only if it was there are the file row, its
 * file_on rows, checksum, attributes and replication job written. Resolves
 * false when there was no tempfile row (nothing written). A key that is
 * taken makes the file insert fail: the batch rolls back and the error
 * reaches the caller, which takes the shared path (it replaces the old file).
 */
export async function commitNewFile(db: MysqlDb, fileKey: KeySql, f: CommitFile): Promise<boolean> {
  const ok = 'FROM DUAL WHERE @mogfs_ok = 1';
  let sql = 'START TRANSACTION; DELETE FROM tempfile WHERE fid = ?; SET @mogfs_ok = ROW_COUNT(); '
    + `INSERT INTO file (fid, dmid, dkey, length, classid, devcount) SELECT ?, ?, ${fileKey.param}, ?, ?, ? ${ok}; `;
  const params: Param[] = [f.fid, f.fid, f.dmid, fileKey.bind(f.dkey), f.length, f.classid, Math.min(new Set(f.devids).size, MAX_DEVCOUNT)];
  for (const devid of f.devids) {
    sql += `INSERT IGNORE INTO file_on (fid, devid) SELECT ?, ? ${ok}; `;
    params.push(f.fid, devid);
  }
  if (f.checksum) {
    sql += `REPLACE INTO checksum (fid, hashtype, checksum) SELECT ?, ?, ? ${ok}; `;
    params.push(f.fid, f.checksum.hashtype, f.checksum.checksum);
  }
  if (f.attrs) {
    sql += `INSERT INTO mogfs_file_attr (fid, ${ATTR_COLUMNS.join(', ')}) SELECT ?, ${ATTR_COLUMNS.map(() => '?').join(', ')} ${ok}; `;
    params.push(f.fid, ...attrValues(f.attrs));
  }
  if (f.replicateLeaseEnd !== undefined) {
    // Claimed by this tracker in the same transaction (sql/replicate.ts enqueueClaimed).
    sql += `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) SELECT ?, ?, NULL ${ok} `
      + 'ON DUPLICATE KEY UPDATE nexttry = VALUES(nexttry); '
      + `INSERT INTO mogfs_replicate_claim (fid, leaseend, recheck) SELECT ?, ?, 0 ${ok} `
      + 'ON DUPLICATE KEY UPDATE leaseend = VALUES(leaseend), recheck = 0; ';
    params.push(f.fid, f.replicateLeaseEnd, f.fid, f.replicateLeaseEnd);
  } else if (f.replicateNexttry !== undefined) {
    sql += `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) SELECT ?, ?, NULL ${ok} `
      + 'ON DUPLICATE KEY UPDATE nexttry = LEAST(nexttry, VALUES(nexttry)), fromdevid = COALESCE(VALUES(fromdevid), fromdevid); ';
    params.push(f.fid, f.replicateNexttry);
  }
  sql += 'COMMIT; SELECT @mogfs_ok AS ok';
  const results = await db.script(sql, params);
  const last = results[results.length - 1] as { ok: number | string }[];
  return Number(last[0]?.ok) === 1;
}

/**
 * finishDeletedChunk (../sql/deletes.ts) of up to MAX_LIST fids in one
 * batch: the file rows of live fids are locked and listed, and the file_on
 * and queue rows of the others go, in one transaction. Resolves to the fids
 * that went. A batch is text, never prepared, so its list is not padded.
 */
export async function finishDeletedChunk(db: MysqlDb, fids: number[]): Promise<number[]> {
  const m = marks(fids.length);
  const dead = (t: string): string => `${t}.fid IN (${m}) AND NOT EXISTS (SELECT 1 FROM file WHERE file.fid = ${t}.fid)`;
  const results = await db.script(
    `START TRANSACTION; SELECT fid FROM file WHERE fid IN (${m}) FOR UPDATE; `
    + `DELETE FROM file_on WHERE ${dead('file_on')}; DELETE FROM file_to_delete2 WHERE ${dead('file_to_delete2')}; COMMIT`,
    [...fids, ...fids, ...fids],
  );
  const live = new Set((results[1] as { fid: number | string }[]).map((r) => Number(r.fid)));
  return fids.filter((fid) => !live.has(fid));
}

/**
 * The copy that completes a claimed replication job (MetadataStore.addFileOnAndFinish):
 * addFileOn's two statements and finishReplicate's common case in one
 * batch, no transaction (none of the three needs one, as apart); the
 * statements' own affected-row counts answer (mysql2 connects with
 * FOUND_ROWS, so the recount matches the file row whether or not devcount
 * changed). Resolves 'gone' when the file row is not there; null when the
 * job was re-queued while it ran (or its rows are not as ours), for the
 * shared finish to handle.
 */
export async function addFileOnAndFinish(db: MysqlDb, fid: number, devid: number): Promise<'finished' | 'gone' | null> {
  const results = await db.script(
    'INSERT IGNORE INTO file_on (fid, devid) VALUES (?, ?); '
    + `UPDATE file SET devcount = LEAST(${MAX_DEVCOUNT}, (SELECT COUNT(*) FROM file_on WHERE fid = ?)) WHERE fid = ?; `
    + 'DELETE c, r FROM mogfs_replicate_claim c JOIN file_to_replicate r ON r.fid = c.fid JOIN file f ON f.fid = c.fid '
    + 'WHERE c.fid = ? AND c.recheck = 0',
    [fid, devid, fid, fid, fid],
  );
  const affected = (i: number): number => Number((results[i] as { affectedRows?: number } | undefined)?.affectedRows ?? 0);
  if (affected(1) === 0) return 'gone';
  return affected(2) > 0 ? 'finished' : null;
}
