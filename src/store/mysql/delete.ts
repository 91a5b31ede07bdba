/**
 * MySQL's one-round-trip forms of two delete-path transactions: the
 * statements of ../sql (files.ts deleteFileByKey, deletes.ts
 * finishDeletedFile) sent as one batch (MysqlDb.script), with session
 * variables carrying the fid between them. A delete by key took nine round
 * trips before (a lookup, then BEGIN, six statements, COMMIT).
 */
import type { MysqlDb } from './db';
import type { KeySql } from './keysql';

const removeRows = (v: string): string => ['file', 'tempfile', 'checksum', 'mogfs_file_attr', 'mogfs_file_xattr']
  .map((t) => `DELETE FROM ${t} WHERE fid = ${v};`).join(' ');

/** Deletes the file `dkey` names; resolves to its fid, or null when there is none. */
export async function deleteFileByKey(db: MysqlDb, fileKey: KeySql, dmid: number, dkey: string, now: number): Promise<number | null> {
  const key = fileKey.tryBind(dkey);
  if (key === null) return null;
  const sql = 'SET @mogfs_del = NULL; START TRANSACTION; '
    + `SELECT fid INTO @mogfs_del FROM file WHERE dmid = ? AND dkey = ${fileKey.param} FOR UPDATE; `
    + `${removeRows('@mogfs_del')} `
    + 'INSERT INTO file_to_delete2 (fid, nexttry) SELECT @mogfs_del, ? FROM DUAL WHERE @mogfs_del IS NOT NULL '
    + 'ON DUPLICATE KEY UPDATE nexttry = LEAST(nexttry, VALUES(nexttry)); '
    + 'COMMIT; SELECT @mogfs_del AS fid';
  const results = await db.script(sql, [dmid, key, now]);
  const last = results[results.length - 1] as { fid: number | string | null }[];
  const fid = last[0]?.fid;
  return fid === null || fid === undefined ? null : Number(fid);
}

export async function finishDeletedFile(db: MysqlDb, fid: number): Promise<boolean> {
  const results = await db.script(
    'START TRANSACTION; SELECT EXISTS (SELECT 1 FROM file WHERE fid = ? FOR UPDATE) INTO @mogfs_live; '
    + 'DELETE FROM file_on WHERE fid = ? AND @mogfs_live = 0; DELETE FROM file_to_delete2 WHERE fid = ? AND @mogfs_live = 0; '
    + 'COMMIT; SELECT @mogfs_live AS live',
    [fid, fid, fid],
  );
  const last = results[results.length - 1] as { live: number | string }[];
  return Number(last[0]?.live) === 0;
}
