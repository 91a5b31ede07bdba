/**
 * mogfs_file_attr on SQLite (see ../attrs.ts): attributes of stored files,
 * written only while the file row exists, so a row can never outlive its fid.
 */
import { ATTR_COLUMNS, attrValues, attrsFromRow } from '../attrs';
import type { AttrRow, FileAttrs, FileWithAttrs } from '../attrs';
import type { FileRow } from '../types';
import type { SqliteDb } from './db';

const COLS = ATTR_COLUMNS.join(', ');
const KEEP = ATTR_COLUMNS.map((c) => `${c} = COALESCE(excluded.${c}, ${c})`).join(', ');

export class SqliteAttrs {
  constructor(private readonly db: SqliteDb) {}

  setFileAttrs(fid: number, attrs: Partial<FileAttrs>): boolean {
    return this.db.tx(() => {
      if (!this.db.get('SELECT 1 FROM file WHERE fid = ?', fid)) return false;
      this.db.run(
        `INSERT INTO mogfs_file_attr (fid, ${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (fid) DO UPDATE SET ${KEEP}`,
        fid, ...attrValues(attrs),
      );
      return true;
    });
  }

  getFileAttrs(fid: number): FileAttrs | null {
    if (!this.db.get('SELECT 1 FROM file WHERE fid = ?', fid)) return null;
    return attrsFromRow(this.db.get<AttrRow>(`SELECT ${COLS} FROM mogfs_file_attr WHERE fid = ?`, fid));
  }

  /** The rows of `keys` (those that exist), in the order given, each with its attributes. */
  filesWithAttrs(dmid: number, keys: string[]): FileWithAttrs[] {
    if (keys.length === 0) return [];
    const marks = keys.map(() => '?').join(', ');
    const rows = this.db.all<FileRow & AttrRow & { xattrs: number }>(
      `SELECT f.fid, f.dmid, f.dkey, f.length, f.classid, f.devcount, ${ATTR_COLUMNS.map((c) => `a.${c}`).join(', ')},
         (SELECT COUNT(*) FROM mogfs_file_xattr x WHERE x.fid = f.fid) AS xattrs
       FROM file f LEFT JOIN mogfs_file_attr a ON a.fid = f.fid
       WHERE f.dmid = ? AND f.dkey IN (${marks})`,
      dmid, ...keys,
    );
    const byKey = new Map(rows.map((r) => [r.dkey, r]));
    const out: FileWithAttrs[] = [];
    for (const k of keys) {
      const r = byKey.get(k);
      if (r) {
        out.push({
          fid: r.fid, dmid: r.dmid, dkey: r.dkey, length: r.length, classid: r.classid, devcount: r.devcount,
          attrs: attrsFromRow(r), xattrCount: r.xattrs,
        });
      }
    }
    return out;
  }

  setFileXattr(fid: number, name: string, value: Buffer | null): boolean {
    return this.db.tx(() => {
      if (!this.db.get('SELECT 1 FROM file WHERE fid = ?', fid)) return false;
      if (value === null) this.db.run('DELETE FROM mogfs_file_xattr WHERE fid = ? AND name = ?', fid, name);
      else this.db.run('INSERT OR REPLACE INTO mogfs_file_xattr (fid, name, value) VALUES (?, ?, ?)', fid, name, value);
      return true;
    });
  }

  getFileXattrs(fid: number): Map<string, Buffer> | null {
    if (!this.db.get('SELECT 1 FROM file WHERE fid = ?', fid)) return null;
    const rows = this.db.all<{ name: string; value: Buffer }>('SELECT name, value FROM mogfs_file_xattr WHERE fid = ? ORDER BY name', fid);
    return new Map(rows.map((r) => [r.name, Buffer.from(r.value)]));
  }
}
