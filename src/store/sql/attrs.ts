/**
 * mogfs_file_attr and mogfs_file_xattr (see ../attrs.ts): attributes of
 * stored files. A write first reads the file row with a shared lock (MySQL;
 * SQLite's write transaction locks the file), so it serialises with a
 * delete of that file: either the delete comes first and nothing is
 * written, or it comes after and removes the attribute rows with the file.
 */
import { ATTR_COLUMNS, attrValues, attrsFromRow } from '../attrs';
import type { AttrRow, FileAttrs, FileWithAttrs } from '../attrs';
import type { FileRow } from '../types';
import type { Dialect, KeyCodec, Param, SqlDb } from './conn';
import { chunks, marks, padList } from './lists';

const COLS = ATTR_COLUMNS.join(', ');

export class Attrs {
  constructor(private readonly db: SqlDb, private readonly fileKey: KeyCodec) {}

  private get d(): Dialect { return this.db.dialect; }

  async setFileAttrs(fid: number, attrs: Partial<FileAttrs>): Promise<boolean> {
    const d = this.d;
    const keep = ATTR_COLUMNS.map((c) => `${c} = COALESCE(${d.excluded(c)}, ${c})`).join(', ');
    return this.db.tx(async (q) => {
      if (!(await q.get(`SELECT fid FROM file WHERE fid = ?${d.forShare}`, fid))) return false;
      await q.run(`INSERT INTO mogfs_file_attr (fid, ${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)${d.upsert('fid', keep)}`, fid, ...attrValues(attrs));
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

  /** The files of `keys` that exist, in the order of `keys`, with their attributes. */
  async filesWithAttrs(dmid: number, keys: string[]): Promise<FileWithAttrs[]> {
    const k = this.fileKey;
    // A key the column cannot hold has no row.
    const bound = keys.map((key) => k.tryBind(key)).filter((b): b is Param => b !== null);
    const byKey = new Map<string, FileRow & AttrRow & { xattrs: number }>();
    for (const part of chunks(bound)) {
      const list = padList<Param>(part);
      const rows = await this.db.all<FileRow & AttrRow & { dkey: Buffer | string; xattrs: number }>(
        `SELECT f.fid, f.dmid, ${k.select('f.dkey')} AS dkey, f.length, f.classid, f.devcount,
           ${ATTR_COLUMNS.map((c) => `a.${c}`).join(', ')},
           (SELECT COUNT(*) FROM mogfs_file_xattr x WHERE x.fid = f.fid) AS xattrs
         FROM file f LEFT JOIN mogfs_file_attr a ON a.fid = f.fid
         WHERE f.dmid = ? AND f.dkey IN (${marks(list.length, k.param)})`,
        dmid, ...list,
      );
      for (const r of rows) {
        const dkey = k.read(r.dkey);
        byKey.set(dkey, { ...r, dkey });
      }
    }
    const out: FileWithAttrs[] = [];
    for (const key of keys) {
      const r = byKey.get(key);
      if (!r) continue;
      out.push({
        fid: Number(r.fid), dmid: r.dmid, dkey: key, length: Number(r.length), classid: r.classid, devcount: r.devcount,
        attrs: attrsFromRow(r), xattrCount: Number(r.xattrs),
      });
    }
    return out;
  }

  async setFileXattr(fid: number, name: string, value: Buffer | null): Promise<boolean> {
    const d = this.d;
    return this.db.tx(async (q) => {
      if (!(await q.get(`SELECT fid FROM file WHERE fid = ?${d.forShare}`, fid))) return false;
      if (value === null) await q.run('DELETE FROM mogfs_file_xattr WHERE fid = ? AND name = ?', fid, d.nameParam(name));
      else await q.run(`${d.replace} INTO mogfs_file_xattr (fid, name, value) VALUES (?, ?, ?)`, fid, d.nameParam(name), value);
      return true;
    });
  }

  async getFileXattrs(fid: number): Promise<Map<string, Buffer> | null> {
    const rows = await this.db.all<{ fid: number; name: Buffer | string | null; value: Buffer | null }>(
      'SELECT f.fid, x.name, x.value FROM file f LEFT JOIN mogfs_file_xattr x ON x.fid = f.fid WHERE f.fid = ? ORDER BY x.name', fid,
    );
    if (rows.length === 0) return null;
    return new Map(rows.filter((r) => r.name !== null).map((r) => [
      Buffer.isBuffer(r.name) ? r.name.toString('utf8') : String(r.name), Buffer.from(r.value as Buffer),
    ]));
  }
}
