/**
 * Files on SQLite: tempfile (open uploads, and the fid allocator), file,
 * file_on and checksum. Every multi-row change is one immediate transaction.
 */
import { MogError } from '../../protocol';
import { checkKeyLength, checkPrefixRename, compareKeys, nextPrefix } from '../keys';
import type { Checksum, CommitFile, FileRow, NewTempfile, TempfileRow } from '../types';
import { ATTR_COLUMNS, attrValues } from '../attrs';
import { isUniqueViolation, SqliteDb } from './db';

const FILE_COLS = 'fid, dmid, dkey, length, classid, devcount';
const TEMP_COLS = 'fid, createtime, classid, dmid, dkey, devids';

export class SqliteFiles {
  constructor(private readonly db: SqliteDb, private readonly maxKeyLength: () => number) {}

  createTempfile(t: NewTempfile): number {
    checkKeyLength(t.dkey, this.maxKeyLength());
    return this.db.tx(() => {
      const insert = (fid: number | null): number => {
        const r = this.db.run(
          'INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, ?, ?, ?, ?, ?)',
          fid, t.createtime, t.classid, t.dmid, t.dkey, t.devids,
        );
        return Number(r.lastInsertRowid);
      };
      if (t.fid) {
        if (this.fidTaken(t.fid)) throw new MogError('fid_in_use', `fid ${t.fid} is already in use`);
        try {
          return insert(t.fid);
        } catch (e) {
          if (isUniqueViolation(e)) throw new MogError('fid_in_use', `fid ${t.fid} is already in use`);
          throw e;
        }
      }
      const fid = insert(null);
      if (!this.fidTaken(fid, true)) return fid;
      // A fid given explicitly earlier (or an imported database) can sit above
      // the counter: move the counter past every fid we know of and retry once.
      this.db.run('DELETE FROM tempfile WHERE fid = ?', fid);
      const top = this.db.get<{ m: number | null }>(
        `SELECT MAX(m) AS m FROM (SELECT MAX(fid) AS m FROM file UNION ALL SELECT MAX(fid) FROM file_to_delete2
           UNION ALL SELECT MAX(fid) FROM file_to_replicate)`,
      )?.m ?? 0;
      this.db.run("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'tempfile'", top);
      return insert(null);
    });
  }

  /** A fid is taken while a file row, or a queued delete of an old file, still uses it. */
  private fidTaken(fid: number, ignoreTempfile = false): boolean {
    if (this.db.get('SELECT 1 FROM file WHERE fid = ?', fid)) return true;
    if (this.db.get('SELECT 1 FROM file_to_delete2 WHERE fid = ?', fid)) return true;
    return !ignoreTempfile && !!this.db.get('SELECT 1 FROM tempfile WHERE fid = ?', fid);
  }

  getTempfile(fid: number): TempfileRow | null {
    return this.db.get<TempfileRow>(`SELECT ${TEMP_COLS} FROM tempfile WHERE fid = ?`, fid) ?? null;
  }

  deleteTempfile(fid: number): void {
    this.db.run('DELETE FROM tempfile WHERE fid = ?', fid);
  }

  listStaleTempfiles(before: number, limit: number): TempfileRow[] {
    return this.db.all<TempfileRow>(
      `SELECT ${TEMP_COLS} FROM tempfile WHERE createtime < ? ORDER BY createtime, fid LIMIT ?`, before, limit,
    );
  }

  getFile(fid: number): FileRow | null {
    return this.db.get<FileRow>(`SELECT ${FILE_COLS} FROM file WHERE fid = ?`, fid) ?? null;
  }

  getFileByKey(dmid: number, dkey: string): FileRow | null {
    return this.db.get<FileRow>(`SELECT ${FILE_COLS} FROM file WHERE dmid = ? AND dkey = ?`, dmid, dkey) ?? null;
  }

  commitFile(f: CommitFile, now: number): { replacedFid: number | null } {
    checkKeyLength(f.dkey, this.maxKeyLength());
    return this.db.tx(() => {
      if (this.db.run('DELETE FROM tempfile WHERE fid = ?', f.fid).changes === 0) {
        throw new MogError('no_temp_file', `fid ${f.fid} has no open upload (closed twice, or expired); upload again`);
      }
      let replacedFid: number | null = null;
      const old = this.db.get<{ fid: number }>('SELECT fid FROM file WHERE dmid = ? AND dkey = ?', f.dmid, f.dkey);
      if (old) {
        if (old.fid === f.fid) throw new MogError('fid_exists', `fid ${f.fid} is already stored under this key`);
        this.removeFile(old.fid, now);
        replacedFid = old.fid;
      }
      try {
        this.db.run(
          'INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, ?, ?, ?)',
          f.fid, f.dmid, f.dkey, f.length, f.classid, new Set(f.devids).size,
        );
      } catch (e) {
        if (isUniqueViolation(e)) throw new MogError('fid_in_use', `fid ${f.fid} already belongs to another key`);
        throw e;
      }
      for (const devid of f.devids) this.db.run('INSERT OR IGNORE INTO file_on (fid, devid) VALUES (?, ?)', f.fid, devid);
      if (f.checksum) this.setChecksum(f.fid, f.checksum);
      if (f.attrs) {
        this.db.run(`INSERT INTO mogfs_file_attr (fid, ${ATTR_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?)`, f.fid, ...attrValues(f.attrs));
      }
      if (f.replicateNexttry !== undefined) this.enqueueReplicate(f.fid, null, f.replicateNexttry);
      return { replacedFid };
    });
  }

  /** Inside a transaction: the file row and checksum go, the fid is queued for deletion from its devices. */
  private removeFile(fid: number, now: number): void {
    this.db.run('DELETE FROM file WHERE fid = ?', fid);
    this.db.run('DELETE FROM tempfile WHERE fid = ?', fid);
    this.db.run('DELETE FROM checksum WHERE fid = ?', fid);
    this.db.run('DELETE FROM mogfs_file_attr WHERE fid = ?', fid);
    this.db.run('DELETE FROM mogfs_file_xattr WHERE fid = ?', fid);
    this.db.run(
      `INSERT INTO file_to_delete2 (fid, nexttry) VALUES (?, ?)
       ON CONFLICT (fid) DO UPDATE SET nexttry = MIN(nexttry, excluded.nexttry)`,
      fid, now,
    );
  }

  deleteFile(fid: number, now: number): void {
    this.db.tx(() => this.removeFile(fid, now));
  }

  deleteFileByKey(dmid: number, dkey: string, now: number): number | null {
    return this.db.tx(() => {
      const row = this.db.get<{ fid: number }>('SELECT fid FROM file WHERE dmid = ? AND dkey = ?', dmid, dkey);
      if (!row) return null;
      this.removeFile(row.fid, now);
      return row.fid;
    });
  }

  /** Only for a fid just committed: nobody can hold a claim on it yet (claimed jobs go through replicate.ts). */
  private enqueueReplicate(fid: number, fromdevid: number | null, nexttry: number): void {
    this.db.run(
      `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) VALUES (?, ?, ?)
       ON CONFLICT (fid) DO UPDATE SET nexttry = MIN(nexttry, excluded.nexttry),
         fromdevid = COALESCE(excluded.fromdevid, fromdevid)`,
      fid, nexttry, fromdevid,
    );
  }

  renameFile(dmid: number, from: string, to: string, replace: boolean, now: number): number | null {
    checkKeyLength(to, this.maxKeyLength());
    return this.db.tx(() => {
      const src = this.db.get<{ fid: number }>('SELECT fid FROM file WHERE dmid = ? AND dkey = ?', dmid, from);
      if (!src) throw new MogError('unknown_key', `key "${from}" does not exist in this domain`);
      const dst = this.db.get<{ fid: number }>('SELECT fid FROM file WHERE dmid = ? AND dkey = ?', dmid, to);
      if (dst?.fid === src.fid) return null;
      if (dst && !replace) throw new MogError('key_exists', `key "${to}" already exists; delete it first`);
      if (dst) this.removeFile(dst.fid, now);
      this.db.run('UPDATE file SET dkey = ? WHERE fid = ?', to, src.fid);
      return dst ? dst.fid : null;
    });
  }

  /** One transaction; keys are few per directory on SQLite's scale, so rows are renamed one by one. */
  renamePrefix(dmid: number, from: string, to: string): number {
    checkPrefixRename(from, to);
    const fromEnd = nextPrefix(from);
    const toEnd = nextPrefix(to);
    return this.db.tx(() => {
      const taken = this.db.get<{ dkey: string }>(
        `SELECT dkey FROM file WHERE dmid = ? AND dkey >= ?${toEnd === null ? '' : ' AND dkey < ?'} LIMIT 1`,
        ...[dmid, to, ...(toEnd === null ? [] : [toEnd])],
      );
      if (taken) throw new MogError('key_exists', `key "${taken.dkey}" already starts with "${to}"; move or delete it first`);
      const rows = this.db.all<{ fid: number; dkey: string }>(
        `SELECT fid, dkey FROM file WHERE dmid = ? AND dkey >= ?${fromEnd === null ? '' : ' AND dkey < ?'}`,
        ...[dmid, from, ...(fromEnd === null ? [] : [fromEnd])],
      );
      const max = this.maxKeyLength();
      for (const r of rows) checkKeyLength(to + r.dkey.slice(from.length), max);
      for (const r of rows) this.db.run('UPDATE file SET dkey = ? WHERE fid = ?', to + r.dkey.slice(from.length), r.fid);
      return rows.length;
    });
  }

  updateFileClass(fid: number, classid: number): void {
    this.db.run('UPDATE file SET classid = ? WHERE fid = ?', classid, fid);
  }

  listKeys(dmid: number, prefix: string, after: string | null, limit: number): string[] {
    const end = nextPrefix(prefix);
    if (after !== null && compareKeys(after, prefix) >= 0) return this.scanKeys(dmid, after, false, end, limit);
    return this.scanKeys(dmid, prefix, true, end, limit);
  }

  /** Keys from `from` (inclusive or not) below `end`, in byte order: one range scan of the (dmid, dkey) index. */
  scanKeys(dmid: number, from: string, inclusive: boolean, end: string | null, limit: number): string[] {
    const conds = ['dmid = ?', inclusive ? 'dkey >= ?' : 'dkey > ?'];
    const params: unknown[] = [dmid, from];
    if (end !== null) {
      conds.push('dkey < ?');
      params.push(end);
    }
    params.push(limit);
    const sql = `SELECT dkey FROM file WHERE ${conds.join(' AND ')} ORDER BY dkey LIMIT ?`;
    return this.db.all<{ dkey: string }>(sql, ...params).map((r) => r.dkey);
  }

  listFids(from: number, count: number): FileRow[] {
    return this.db.all<FileRow>(`SELECT ${FILE_COLS} FROM file WHERE fid > ? ORDER BY fid LIMIT ?`, from, count);
  }

  getFileWithDevids(dmid: number, dkey: string): { file: FileRow; devids: number[] } | null {
    const rows = this.db.all<FileRow & { devid: number | null }>(
      `SELECT f.fid, f.dmid, f.dkey, f.length, f.classid, f.devcount, o.devid FROM file f
         LEFT JOIN file_on o ON o.fid = f.fid WHERE f.dmid = ? AND f.dkey = ? ORDER BY o.devid`,
      dmid, dkey,
    );
    if (rows.length === 0) return null;
    const { devid: _devid, ...file } = rows[0];
    return { file, devids: rows.filter((r) => r.devid !== null).map((r) => r.devid as number) };
  }

  getFileForReplication(fid: number): { file: FileRow; devids: number[]; checksum: Checksum | null } | null {
    const rows = this.db.all<FileRow & { devid: number | null; hashtype: number | null; checksum: Buffer | null }>(
      `SELECT f.fid, f.dmid, f.dkey, f.length, f.classid, f.devcount, o.devid, c.hashtype, c.checksum FROM file f
         LEFT JOIN file_on o ON o.fid = f.fid LEFT JOIN checksum c ON c.fid = f.fid WHERE f.fid = ? ORDER BY o.devid`,
      fid,
    );
    if (rows.length === 0) return null;
    const { devid: _d, hashtype, checksum, ...file } = rows[0];
    return {
      file,
      devids: rows.filter((r) => r.devid !== null).map((r) => r.devid as number),
      checksum: hashtype !== null && checksum !== null ? { hashtype, checksum } : null,
    };
  }

  fileDevids(fid: number): number[] {
    return this.db.all<{ devid: number }>('SELECT devid FROM file_on WHERE fid = ? ORDER BY devid', fid).map((r) => r.devid);
  }

  /** True when the file row exists (the recount matched it). */
  addFileOn(fid: number, devid: number): boolean {
    return this.db.tx(() => {
      this.db.run('INSERT OR IGNORE INTO file_on (fid, devid) VALUES (?, ?)', fid, devid);
      return this.refreshDevcount(fid) > 0;
    });
  }

  removeFileOn(fid: number, devid: number): void {
    this.db.tx(() => {
      this.db.run('DELETE FROM file_on WHERE fid = ? AND devid = ?', fid, devid);
      this.refreshDevcount(fid);
    });
  }

  /** Rows matched: 1 when the file row exists. */
  private refreshDevcount(fid: number): number {
    return this.db.run('UPDATE file SET devcount = (SELECT COUNT(*) FROM file_on WHERE fid = ?) WHERE fid = ?', fid, fid).changes;
  }

  getChecksum(fid: number): Checksum | null {
    return this.db.get<Checksum>('SELECT hashtype, checksum FROM checksum WHERE fid = ?', fid) ?? null;
  }

  setChecksum(fid: number, c: Checksum): void {
    this.db.run('INSERT OR REPLACE INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)', fid, c.hashtype, c.checksum);
  }
}
