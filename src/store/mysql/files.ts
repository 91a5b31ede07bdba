/**
 * Files on MySQL: tempfile (open uploads, and the fid allocator), file,
 * file_on and checksum. Keys are bound and read through KeySql (keysql.ts):
 * UTF-8 bytes in our VARBINARY column, the column's charset in an original one.
 */
import { MogError } from '../../protocol';
import { checkKeyLength, checkPrefixRename, compareKeys } from '../keys';
import type { Checksum, CommitFile, FileRow, NewTempfile, TempfileRow } from '../types';
import { ATTR_COLUMNS, attrValues } from '../attrs';
import { isDuplicate, isDuplicatePrimary, limit as limitParam, MysqlDb, Param, Q } from './db';
import type { KeySql } from './keysql';
import { deleteFileByKey as deleteByKey } from './delete';

function fileCols(k: KeySql): string {
  return `fid, dmid, ${k.select('dkey')} AS dkey, length, classid, devcount`;
}

function fileRow(k: KeySql, r: FileRow | undefined): FileRow | null {
  return r ? { ...r, dkey: k.read(r.dkey), length: Number(r.length) } : null;
}

export class MysqlFiles {
  constructor(
    private readonly db: MysqlDb,
    private readonly fileKey: KeySql,
    private readonly tempKey: KeySql,
    private readonly maxKeyLength: number,
  ) {}

  private get fileCols(): string { return fileCols(this.fileKey); }
  private get tempCols(): string { return `fid, createtime, classid, dmid, ${this.tempKey.select('dkey')} AS dkey, devids`; }
  private tempRow(r: TempfileRow): TempfileRow { return { ...r, dkey: this.tempKey.read(r.dkey) }; }

  async createTempfile(t: NewTempfile): Promise<number> {
    checkKeyLength(t.dkey, this.maxKeyLength);
    const insert = async (fid: number | null): Promise<number> => {
      const r = await this.db.run(
        `INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, ?, ?, ?, ${this.tempKey.param}, ?)`,
        fid, t.createtime, t.classid, t.dmid, this.tempKey.bind(t.dkey), t.devids,
      );
      return fid ?? Number(r.insertId);
    };
    if (t.fid) {
      if (await this.fidTaken(this.db, t.fid)) throw new MogError('fid_in_use', `fid ${t.fid} is already in use`);
      try {
        return await insert(t.fid);
      } catch (e) {
        if (isDuplicate(e)) throw new MogError('fid_in_use', `fid ${t.fid} is already in use`);
        throw e;
      }
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const fid = await insert(null);
      if (!(await this.fidTaken(this.db, fid))) return fid;
      // The counter is behind fids in use (a client chose a fid, or InnoDB
      // reset the counter from an emptied tempfile after a restart): give the
      // fid back and push the counter past the highest fid we know of.
      await this.db.run('DELETE FROM tempfile WHERE fid = ?', fid);
      const top = (await this.db.get<{ m: number | null }>(
        `SELECT GREATEST(COALESCE((SELECT MAX(fid) FROM file), 0), COALESCE((SELECT MAX(fid) FROM file_to_delete2), 0)) AS m`,
      ))?.m ?? 0;
      const seeded = await this.db.run(
        'INSERT IGNORE INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, 0, 0, 0, NULL, NULL)', top,
      );
      if (seeded.affectedRows > 0) await this.db.run('DELETE FROM tempfile WHERE fid = ? AND createtime = 0', top);
    }
    throw new Error('could not allocate a fid: the tempfile counter keeps colliding with fids in use');
  }

  /** A fid is taken while a file row, or a queued delete of an old file, still uses it. */
  private async fidTaken(q: Q, fid: number): Promise<boolean> {
    // One round trip for both tables: this runs on every create_open.
    const r = await q.get<{ taken: number }>(
      'SELECT EXISTS(SELECT 1 FROM file WHERE fid = ?) OR EXISTS(SELECT 1 FROM file_to_delete2 WHERE fid = ?) AS taken', fid, fid,
    );
    return Number(r?.taken ?? 0) === 1;
  }

  async getTempfile(fid: number): Promise<TempfileRow | null> {
    const r = await this.db.get<TempfileRow>(`SELECT ${this.tempCols} FROM tempfile WHERE fid = ?`, fid);
    return r ? this.tempRow(r) : null;
  }

  async deleteTempfile(fid: number): Promise<void> {
    await this.db.run('DELETE FROM tempfile WHERE fid = ?', fid);
  }

  async listStaleTempfiles(before: number, limit: number): Promise<TempfileRow[]> {
    const rows = await this.db.all<TempfileRow>(
      `SELECT ${this.tempCols} FROM tempfile WHERE createtime < ? ORDER BY createtime, fid LIMIT ?`, before, limitParam(limit),
    );
    return rows.map((r) => this.tempRow(r));
  }

  async getFile(fid: number): Promise<FileRow | null> {
    return fileRow(this.fileKey, await this.db.get<FileRow>(`SELECT ${this.fileCols} FROM file WHERE fid = ?`, fid));
  }

  async getFileByKey(dmid: number, dkey: string): Promise<FileRow | null> {
    const key = this.fileKey.tryBind(dkey);
    if (key === null) return null;
    return fileRow(this.fileKey, await this.db.get<FileRow>(
      `SELECT ${this.fileCols} FROM file WHERE dmid = ? AND dkey = ${this.fileKey.param}`, dmid, key,
    ));
  }

  async commitFile(f: CommitFile, now: number): Promise<{ replacedFid: number | null }> {
    checkKeyLength(f.dkey, this.maxKeyLength);
    const key = this.fileKey.bind(f.dkey);
    return this.db.tx(async (q) => {
      if ((await q.run('DELETE FROM tempfile WHERE fid = ?', f.fid)).affectedRows === 0) {
        throw new MogError('no_temp_file', `fid ${f.fid} has no open upload (closed twice, or expired); upload again`);
      }
      let replacedFid: number | null = null;
      const insert = (): Promise<unknown> => q.run(
        `INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ${this.fileKey.param}, ?, ?, ?)`,
        f.fid, f.dmid, key, f.length, f.classid, new Set(f.devids).size,
      );
      // Insert first: a new key (the common case) costs one round trip. Only
      // when the key is taken do we lock the old row, retire it and insert again.
      try {
        await insert();
      } catch (e) {
        if (!isDuplicate(e)) throw e;
        const old = await q.get<{ fid: number }>(
          `SELECT fid FROM file WHERE dmid = ? AND dkey = ${this.fileKey.param} FOR UPDATE`, f.dmid, key,
        );
        if (old?.fid === f.fid) throw new MogError('fid_exists', `fid ${f.fid} is already stored under this key`);
        if (!old || isDuplicatePrimary(e)) throw new MogError('fid_in_use', `fid ${f.fid} already belongs to another key`);
        await removeFile(q, old.fid, now);
        replacedFid = old.fid;
        try {
          await insert();
        } catch (e2) {
          if (isDuplicatePrimary(e2)) throw new MogError('fid_in_use', `fid ${f.fid} already belongs to another key`);
          throw e2;
        }
      }
      for (const devid of f.devids) await q.run('INSERT IGNORE INTO file_on (fid, devid) VALUES (?, ?)', f.fid, devid);
      if (f.checksum) {
        await q.run('REPLACE INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)', f.fid, f.checksum.hashtype, f.checksum.checksum);
      }
      if (f.attrs) {
        await q.run(`INSERT INTO mogfs_file_attr (fid, ${ATTR_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?)`, f.fid, ...attrValues(f.attrs));
      }
      if (f.replicateNexttry !== undefined) await enqueueReplicate(q, f.fid, null, f.replicateNexttry);
      return { replacedFid };
    });
  }

  async deleteFile(fid: number, now: number): Promise<void> {
    await this.db.tx((q) => removeFile(q, fid, now));
  }

  deleteFileByKey(dmid: number, dkey: string, now: number): Promise<number | null> {
    return deleteByKey(this.db, this.fileKey, dmid, dkey, now);
  }

  async renameFile(dmid: number, from: string, to: string, replace: boolean, now: number): Promise<number | null> {
    checkKeyLength(to, this.maxKeyLength);
    const p = this.fileKey.param;
    const lookup = `SELECT fid FROM file WHERE dmid = ? AND dkey = ${p} FOR UPDATE`;
    const toKey = this.fileKey.bind(to);
    const fromKey = this.fileKey.tryBind(from);
    return this.db.tx(async (q) => {
      const src = fromKey === null ? undefined : await q.get<{ fid: number }>(lookup, dmid, fromKey);
      if (!src) throw new MogError('unknown_key', `key "${from}" does not exist in this domain`);
      const dst = await q.get<{ fid: number }>(lookup, dmid, toKey);
      if (dst?.fid === src.fid) return null;
      if (dst && !replace) throw new MogError('key_exists', `key "${to}" already exists; delete it first`);
      if (dst) await removeFile(q, dst.fid, now);
      try {
        await q.run(`UPDATE file SET dkey = ${p} WHERE fid = ?`, toKey, src.fid);
      } catch (e) {
        if (isDuplicate(e)) throw new MogError('key_exists', `key "${to}" already exists; delete it first`);
        throw e;
      }
      return dst ? Number(dst.fid) : null;
    });
  }

  /** One UPDATE over the key range: a directory of any size is renamed in one statement. */
  async renamePrefix(dmid: number, from: string, to: string): Promise<number> {
    checkPrefixRename(from, to);
    const k = this.fileKey;
    const toBound = k.bind(to);
    const src = k.startsWith('dkey', from);
    if (src === null) return 0;
    const dst = k.startsWith('dkey', to) as { sql: string; params: Param[] };
    // SUBSTRING counts bytes in our VARBINARY column, characters in an original VARCHAR one.
    const cut = (k.col.charset === null ? Buffer.byteLength(from, 'utf8') : Array.from(from).length) + 1;
    const bytes = (b: Param): number => (Buffer.isBuffer(b) ? b.length : Buffer.byteLength(String(b), 'utf8'));
    return this.db.tx(async (q) => {
      const taken = await q.get<{ dkey: Buffer }>(
        `SELECT ${k.select('dkey')} AS dkey FROM file WHERE dmid = ? AND ${dst.sql} LIMIT 1 FOR UPDATE`, dmid, ...dst.params,
      );
      if (taken) throw new MogError('key_exists', `key "${k.read(taken.dkey)}" already starts with "${to}"; move or delete it first`);
      const longest = await q.get<{ n: number | null }>(
        `SELECT MAX(LENGTH(CAST(dkey AS BINARY))) AS n FROM file WHERE dmid = ? AND ${src.sql}`, dmid, ...src.params,
      );
      const n = Number(longest?.n ?? 0);
      if (n === 0) return 0;
      const grow = bytes(toBound) - bytes(k.bind(from));
      if (n + grow > this.maxKeyLength) {
        throw new MogError('key_too_long', `renaming "${from}" to "${to}" makes a key of ${n + grow} bytes; this database holds at most ${this.maxKeyLength}`);
      }
      const r = await q.run(
        `UPDATE file SET dkey = CONCAT(${k.param}, SUBSTRING(dkey, ?)) WHERE dmid = ? AND ${src.sql}`, toBound, cut, dmid, ...src.params,
      );
      return r.affectedRows;
    });
  }

  async updateFileClass(fid: number, classid: number): Promise<void> {
    await this.db.run('UPDATE file SET classid = ? WHERE fid = ?', classid, fid);
  }

  listKeys(dmid: number, prefix: string, after: string | null, limit: number): Promise<string[]> {
    if (after !== null && compareKeys(after, prefix) >= 0) return this.scanKeys(dmid, after, false, prefix, limit);
    return this.scanKeys(dmid, prefix, true, prefix, limit);
  }

  /**
   * Keys from `from` (inclusive or not) that start with `prefix`, in the
   * column's order (bytes, on our schema): one range scan of the (dmid, dkey) index.
   */
  async scanKeys(dmid: number, from: string, inclusive: boolean, prefix: string, limit: number): Promise<string[]> {
    const k = this.fileKey;
    const starts = prefix === '' ? { sql: 'TRUE', params: [] } : k.startsWith('dkey', prefix);
    if (starts === null) return [];
    const conds = ['dmid = ?', inclusive ? `dkey >= ${k.param}` : `dkey > ${k.param}`, starts.sql];
    const params: Param[] = [dmid, k.bind(from), ...starts.params];
    // ORDER BY the column, not the CAST alias, or MySQL sorts instead of reading the index in order.
    const rows = await this.db.all<{ dkey: Buffer }>(
      `SELECT ${k.select('dkey')} AS dkey FROM file WHERE ${conds.join(' AND ')} ORDER BY file.dkey LIMIT ?`,
      ...params, limitParam(limit),
    );
    return rows.map((r) => k.read(r.dkey));
  }

  async listFids(from: number, count: number): Promise<FileRow[]> {
    const rows = await this.db.all<FileRow>(`SELECT ${this.fileCols} FROM file WHERE fid > ? ORDER BY fid LIMIT ?`, from, limitParam(count));
    return rows.map((r) => fileRow(this.fileKey, r) as FileRow);
  }

  async getFileWithDevids(dmid: number, dkey: string): Promise<{ file: FileRow; devids: number[] } | null> {
    const key = this.fileKey.tryBind(dkey);
    if (key === null) return null;
    const rows = await this.db.all<FileRow & { devid: number | null }>(
      `SELECT f.fid, f.dmid, ${this.fileKey.select('f.dkey')} AS dkey, f.length, f.classid, f.devcount, o.devid FROM file f
         LEFT JOIN file_on o ON o.fid = f.fid WHERE f.dmid = ? AND f.dkey = ${this.fileKey.param}`,
      dmid, key,
    );
    if (rows.length === 0) return null;
    const { devid: _devid, ...file } = rows[0];
    // Sorted here: ORDER BY in the join made MariaDB build a temporary table for every lookup.
    return { file: fileRow(this.fileKey, file) as FileRow, devids: rows.filter((r) => r.devid !== null).map((r) => Number(r.devid)).sort((a, b) => a - b) };
  }

  async getFileForReplication(fid: number): Promise<{ file: FileRow; devids: number[]; checksum: Checksum | null } | null> {
    const rows = await this.db.all<FileRow & { devid: number | null; hashtype: number | null; checksum: Buffer | null }>(
      `SELECT f.fid, f.dmid, ${this.fileKey.select('f.dkey')} AS dkey, f.length, f.classid, f.devcount, o.devid, c.hashtype, c.checksum
         FROM file f LEFT JOIN file_on o ON o.fid = f.fid LEFT JOIN checksum c ON c.fid = f.fid WHERE f.fid = ?`,
      fid,
    );
    if (rows.length === 0) return null;
    const { devid: _d, hashtype, checksum, ...file } = rows[0];
    return {
      file: fileRow(this.fileKey, file) as FileRow,
      devids: rows.filter((r) => r.devid !== null).map((r) => Number(r.devid)).sort((a, b) => a - b),
      checksum: hashtype !== null && checksum !== null ? { hashtype: Number(hashtype), checksum: Buffer.from(checksum) } : null,
    };
  }

  async fileDevids(fid: number): Promise<number[]> {
    return (await this.db.all<{ devid: number }>('SELECT devid FROM file_on WHERE fid = ? ORDER BY devid', fid)).map((r) => r.devid);
  }

  /**
   * Two autocommit statements, no transaction (as the original's
   * add_fidid_to_devid + update_devcount): the recount reads committed rows,
   * so whichever recount runs last sets the right devcount.
   */
  async addFileOn(fid: number, devid: number): Promise<boolean> {
    await this.db.run('INSERT IGNORE INTO file_on (fid, devid) VALUES (?, ?)', fid, devid);
    // affectedRows counts matched rows (mysql2 connects with CLIENT_FOUND_ROWS).
    return (await refreshDevcount(this.db, fid)) > 0;
  }

  async removeFileOn(fid: number, devid: number): Promise<void> {
    await this.db.tx(async (q) => {
      await q.run('DELETE FROM file_on WHERE fid = ? AND devid = ?', fid, devid);
      await refreshDevcount(q, fid);
    });
  }

  async getChecksum(fid: number): Promise<Checksum | null> {
    const r = await this.db.get<Checksum>('SELECT hashtype, checksum FROM checksum WHERE fid = ?', fid);
    return r ? { hashtype: r.hashtype, checksum: Buffer.from(r.checksum) } : null;
  }

  async setChecksum(fid: number, c: Checksum): Promise<void> {
    await this.db.run('REPLACE INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)', fid, c.hashtype, c.checksum);
  }
}

/** Rows matched: 1 when the file row exists. */
async function refreshDevcount(q: Q, fid: number): Promise<number> {
  const r = await q.run('UPDATE file SET devcount = LEAST(255, (SELECT COUNT(*) FROM file_on WHERE fid = ?)) WHERE fid = ?', fid, fid);
  return r.affectedRows;
}

/** Inside a transaction: the file row and checksum go, the fid is queued for deletion from its devices. */
async function removeFile(q: Q, fid: number, now: number): Promise<void> {
  await q.run('DELETE FROM file WHERE fid = ?', fid);
  await q.run('DELETE FROM tempfile WHERE fid = ?', fid);
  await q.run('DELETE FROM checksum WHERE fid = ?', fid);
  await q.run('DELETE FROM mogfs_file_attr WHERE fid = ?', fid);
  await q.run('DELETE FROM mogfs_file_xattr WHERE fid = ?', fid);
  await q.run(
    'INSERT INTO file_to_delete2 (fid, nexttry) VALUES (?, ?) ON DUPLICATE KEY UPDATE nexttry = LEAST(nexttry, VALUES(nexttry))',
    fid, now,
  );
}

/** Only for a fid just committed: nobody can hold a claim on it yet (claimed jobs go through replicate.ts). */
async function enqueueReplicate(q: Q, fid: number, fromdevid: number | null, nexttry: number): Promise<void> {
  await q.run(
    `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) VALUES (?, ?, ?)
     ON DUPLICATE KEY UPDATE nexttry = LEAST(nexttry, VALUES(nexttry)), fromdevid = COALESCE(VALUES(fromdevid), fromdevid)`,
    fid, nexttry, fromdevid,
  );
}
