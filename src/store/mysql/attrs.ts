/**
 * mogfs_file_attr on MySQL (see ../attrs.ts). The upsert holds a shared lock
 * on the file row, so it serialises with a delete of that file: either the
 * delete comes first and nothing is written, or it comes after and removes
 * the attribute row with the file.
 */
import { ATTR_COLUMNS, attrValues, attrsFromRow } from '../attrs';
import type { AttrRow, FileAttrs, FileWithAttrs } from '../attrs';
import type { FileRow } from '../types';
import type { MysqlDb } from './db';
import type { KeySql } from './files';

const COLS = ATTR_COLUMNS.join(', ');
const KEEP = ATTR_COLUMNS.map((c) => `${c} = COALESCE(VALUES(${c}), ${c})`).join(', ');

export class MysqlAttrs {
  constructor(private readonly db: MysqlDb, private readonly fileKey: KeySql) {}

  async setFileAttrs(fid: number, attrs: Partial<FileAttrs>): Promise<boolean> {
    return this.db.tx(async (q) => {
      if (!(await q.get('SELECT fid FROM file WHERE fid = ? LOCK IN SHARE MODE', fid))) return false;
      await q.run(
        `INSERT INTO mogfs_file_attr (fid, ${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE ${KEEP}`,
        fid, ...attrValues(attrs),
      );
      return true;
    });
  }

  async getFileAttrs(fid: number): Promise<FileAttrs | null> {
    const rows = await this.db.all<{ fid: number } & Partial<AttrRow>>(
      `SELECT f.fid, ${ATTR_COLUMNS.map((c) => `a.${c}`).join(', ')}
       FROM file f LEFT JOIN mogfs_file_attr a ON a.fid = f.fid WHERE f.fid = ?`, fid,
    );
    return rows.length ? attrsFromRow(rows[0]) : null;
  }

  /** The rows of `keys` (those that exist), in the order given, each with its attributes. */
  async filesWithAttrs(dmid: number, keys: string[]): Promise<FileWithAttrs[]> {
    if (keys.length === 0) return [];
    const marks = keys.map(() => this.fileKey.param).join(', ');
    const rows = await this.db.all<FileRow & AttrRow & { dkey: Buffer | string }>(
      `SELECT f.fid, f.dmid, CAST(f.dkey AS BINARY) AS dkey, f.length, f.classid, f.devcount,
         ${ATTR_COLUMNS.map((c) => `a.${c}`).join(', ')}
       FROM file f LEFT JOIN mogfs_file_attr a ON a.fid = f.fid
       WHERE f.dmid = ? AND f.dkey IN (${marks})`,
      dmid, ...keys.map((k) => this.fileKey.bind(k)),
    );
    const byKey = new Map<string, FileRow & AttrRow>();
    for (const r of rows) {
      const dkey = Buffer.isBuffer(r.dkey) ? r.dkey.toString('utf8') : String(r.dkey);
      byKey.set(dkey, { ...r, dkey });
    }
    const out: FileWithAttrs[] = [];
    for (const k of keys) {
      const r = byKey.get(k);
      if (!r) continue;
      out.push({
        fid: Number(r.fid), dmid: r.dmid, dkey: k, length: Number(r.length), classid: r.classid, devcount: r.devcount,
        attrs: attrsFromRow(r),
      });
    }
    return out;
  }
}
