/**
 * Files: tempfile (open uploads, and the fid allocator), file, file_on and
 * checksum. Keys are bound and read through the engine's KeyCodec.
 */
import { MogError } from '../../protocol';
import { checkKeyLength, checkPrefixRename, compareKeys } from '../keys';
import type { Checksum, CommitFile, FileRow, NewTempfile, TempfileRow } from '../types';
import { ATTR_COLUMNS, attrValues } from '../attrs';
import { type KeyCodec, MAX_DEVCOUNT, type Param, type Q, type SqlDb } from './conn';
import { enqueueClaimed, enqueueReplicate } from './replicate';

/** How many times create_open moves the fid counter past fids in use before it gives up. */
const FID_ATTEMPTS = 5;

/** SQL true when the fid `expr` names is still used by a file row or a queued delete of an old file. */
function takenSql(expr: string): string {
  return `EXISTS(SELECT 1 FROM file WHERE fid = ${expr}) OR EXISTS(SELECT 1 FROM file_to_delete2 WHERE fid = ${expr})`;
}

export class Files {
  constructor(
    private readonly db: SqlDb,
    private readonly fileKey: KeyCodec,
    private readonly tempKey: KeyCodec,
    private readonly maxKeyLength: number,
  ) {}

  private get d() { return this.db.dialect; }
  get fileCols(): string { return `fid, dmid, ${this.fileKey.select('dkey')} AS dkey, length, classid, devcount`; }
  private get tempCols(): string { return `fid, createtime, classid, dmid, ${this.tempKey.select('dkey')} AS dkey, devids`; }
  private tempRow(r: TempfileRow): TempfileRow { return { ...r, fid: Number(r.fid), dkey: this.tempKey.read(r.dkey) }; }

  fileRow(r: FileRow | undefined): FileRow | null {
    return r ? { ...r, fid: Number(r.fid), dkey: this.fileKey.read(r.dkey), length: Number(r.length) } : null;
  }

  async createTempfile(t: NewTempfile): Promise<number> {
    checkKeyLength(t.dkey, this.maxKeyLength);
    if (t.fid) {
      if (await this.fidTaken(t.fid)) throw new MogError('fid_in_use', `fid ${t.fid} is already in use`);
      try {
        await this.db.run(
          `INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, ?, ?, ?, ${this.tempKey.param}, ?)`,
          t.fid, t.createtime, t.classid, t.dmid, this.tempKey.bind(t.dkey), t.devids,
        );
        return t.fid;
      } catch (e) {
        if (this.d.isDuplicate(e)) throw new MogError('fid_in_use', `fid ${t.fid} is already in use`);
        throw e;
      }
    }
    for (let attempt = 0; attempt < FID_ATTEMPTS; attempt++) {
      const { fid, taken } = await this.insertNewFid(t);
      if (!taken) return fid;
      // The counter is behind fids in use (a client chose a fid, a database
      // was imported, or InnoDB reset the counter from an emptied tempfile
      // after a restart): give the fid back and push the counter past the
      // highest fid any table still uses.
      await this.db.run('DELETE FROM tempfile WHERE fid = ?', fid);
      await this.pushFidCounter();
    }
    throw new Error('could not allocate a fid: the tempfile counter keeps colliding with fids in use');
  }

  /** Moves the fid counter past the highest fid any table still uses. */
  async pushFidCounter(): Promise<void> {
    const top = await this.db.get<{ m: number | null }>(
      `SELECT ${this.d.greatest}(${this.d.greatest}(COALESCE((SELECT MAX(fid) FROM file), 0),
         COALESCE((SELECT MAX(fid) FROM file_to_delete2), 0)), COALESCE((SELECT MAX(fid) FROM file_to_replicate), 0)) AS m`,
    );
    await this.d.bumpFidCounter(this.db, Number(top?.m ?? 0));
  }

  /** A fid is taken while a file row, or a queued delete of an old file, still uses it: one round trip for both. */
  private async fidTaken(fid: number): Promise<boolean> {
    const r = await this.db.get<{ taken: number }>(`SELECT ${takenSql('?')} AS taken`, fid, fid);
    return Number(r?.taken ?? 0) === 1;
  }

  /**
   * A tempfile row with a new fid from the counter, and whether that fid is
   * taken: one round trip where the server has `INSERT … RETURNING`, else
   * the insert and then the check.
   */
  private async insertNewFid(t: NewTempfile): Promise<{ fid: number; taken: boolean }> {
    const cols = 'INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids)';
    const params = [t.createtime, t.classid, t.dmid, this.tempKey.bind(t.dkey), t.devids];
    if (this.d.insertReturning) {
      const r = await this.db.get<{ fid: number; taken: number }>(
        `${cols} VALUES (NULL, ?, ?, ?, ${this.tempKey.param}, ?) RETURNING fid, ${takenSql('tempfile.fid')} AS taken`, ...params,
      );
      if (!r) throw new Error('INSERT … RETURNING into tempfile returned no row');
      return { fid: Number(r.fid), taken: Number(r.taken) === 1 };
    }
    const fid = (await this.db.run(`${cols} VALUES (NULL, ?, ?, ?, ${this.tempKey.param}, ?)`, ...params)).insertId;
    return { fid, taken: await this.fidTaken(fid) };
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
      `SELECT ${this.tempCols} FROM tempfile WHERE createtime < ? ORDER BY createtime, fid LIMIT ?`, before, this.d.limit(limit),
    );
    return rows.map((r) => this.tempRow(r));
  }

  async getFile(fid: number): Promise<FileRow | null> {
    return this.fileRow(await this.db.get<FileRow>(`SELECT ${this.fileCols} FROM file WHERE fid = ?`, fid));
  }

  async getFileByKey(dmid: number, dkey: string): Promise<FileRow | null> {
    const key = this.fileKey.tryBind(dkey);
    if (key === null) return null;
    return this.fileRow(await this.db.get<FileRow>(`SELECT ${this.fileCols} FROM file WHERE dmid = ? AND dkey = ${this.fileKey.param}`, dmid, key));
  }

  /**
   * create_close in one transaction. The insert comes first: a new key (the
   * common case) costs one statement; only when the key is taken is the old
   * row locked, retired and the insert made again.
   */
  async commitFile(f: CommitFile, now: number): Promise<{ replacedFid: number | null }> {
    checkKeyLength(f.dkey, this.maxKeyLength);
    const key = this.fileKey.bind(f.dkey);
    const d = this.d;
    return this.db.tx(async (q) => {
      if ((await q.run('DELETE FROM tempfile WHERE fid = ?', f.fid)).changes === 0) {
        throw noTempFile(f.fid);
      }
      let replacedFid: number | null = null;
      const insert = (): Promise<unknown> => q.run(
        `INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ${this.fileKey.param}, ?, ?, ?)`,
        f.fid, f.dmid, key, f.length, f.classid, Math.min(new Set(f.devids).size, MAX_DEVCOUNT),
      );
      try {
        await insert();
      } catch (e) {
        if (!d.isDuplicate(e)) throw e;
        const old = await q.get<{ fid: number }>(
          `SELECT fid FROM file WHERE dmid = ? AND dkey = ${this.fileKey.param}${d.forUpdate}`, f.dmid, key,
        );
        if (old && Number(old.fid) === f.fid) throw new MogError('fid_exists', `fid ${f.fid} is already stored under this key`);
        if (!old || d.isDuplicatePrimary(e)) throw new MogError('fid_in_use', `fid ${f.fid} already belongs to another key`);
        await removeFile(q, d, Number(old.fid), now);
        replacedFid = Number(old.fid);
        try {
          await insert();
        } catch (e2) {
          if (d.isDuplicatePrimary(e2)) throw new MogError('fid_in_use', `fid ${f.fid} already belongs to another key`);
          throw e2;
        }
      }
      for (const devid of f.devids) await q.run(`${d.insertIgnore} INTO file_on (fid, devid) VALUES (?, ?)`, f.fid, devid);
      if (f.checksum) {
        await q.run(`${d.replace} INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)`, f.fid, f.checksum.hashtype, f.checksum.checksum);
      }
      if (f.attrs) {
        await q.run(`INSERT INTO mogfs_file_attr (fid, ${ATTR_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?)`, f.fid, ...attrValues(f.attrs));
      }
      // Nobody can hold a claim on a fid just committed, so the plain upsert is enough.
      if (f.replicateLeaseEnd !== undefined) await enqueueClaimed(q, d, f.fid, f.replicateLeaseEnd);
      else if (f.replicateNexttry !== undefined) await enqueueReplicate(q, d, f.fid, null, f.replicateNexttry);
      return { replacedFid };
    });
  }

  async deleteFile(fid: number, now: number): Promise<void> {
    await this.db.tx((q) => removeFile(q, this.d, fid, now));
  }

  async deleteFileByKey(dmid: number, dkey: string, now: number): Promise<number | null> {
    const key = this.fileKey.tryBind(dkey);
    if (key === null) return null;
    return this.db.tx(async (q) => {
      const row = await q.get<{ fid: number }>(`SELECT fid FROM file WHERE dmid = ? AND dkey = ${this.fileKey.param}${this.d.forUpdate}`, dmid, key);
      if (!row) return null;
      await removeFile(q, this.d, Number(row.fid), now);
      return Number(row.fid);
    });
  }

  async renameFile(dmid: number, from: string, to: string, replace: boolean, now: number): Promise<number | null> {
    checkKeyLength(to, this.maxKeyLength);
    const p = this.fileKey.param;
    const lookup = `SELECT fid FROM file WHERE dmid = ? AND dkey = ${p}${this.d.forUpdate}`;
    const toKey = this.fileKey.bind(to);
    const fromKey = this.fileKey.tryBind(from);
    return this.db.tx(async (q) => {
      const src = fromKey === null ? undefined : await q.get<{ fid: number }>(lookup, dmid, fromKey);
      if (!src) throw new MogError('unknown_key', `key "${from}" does not exist in this domain`);
      const dst = await q.get<{ fid: number }>(lookup, dmid, toKey);
      if (dst && Number(dst.fid) === Number(src.fid)) return null;
      if (dst && !replace) throw new MogError('key_exists', `key "${to}" already exists; delete it first`);
      if (dst) await removeFile(q, this.d, Number(dst.fid), now);
      try {
        await q.run(`UPDATE file SET dkey = ${p} WHERE fid = ?`, toKey, src.fid);
      } catch (e) {
        if (this.d.isDuplicate(e)) throw new MogError('key_exists', `key "${to}" already exists; delete it first`);
        throw e;
      }
      return dst ? Number(dst.fid) : null;
    });
  }

  /** One UPDATE over the key range: a directory of any size is renamed in one statement. */
  async renamePrefix(dmid: number, from: string, to: string): Promise<number> {
    checkPrefixRename(from, to);
    const k = this.fileKey;
    const d = this.d;
    const toBound = k.bind(to);
    const src = k.startsWith('dkey', from);
    if (src === null) return 0;
    const dst = k.startsWith('dkey', to) as { sql: string; params: Param[] };
    const bytes = (b: Param): number => (Buffer.isBuffer(b) ? b.length : Buffer.byteLength(String(b), 'utf8'));
    return this.db.tx(async (q) => {
      const taken = await q.get<{ dkey: Buffer | string }>(
        `SELECT ${k.select('dkey')} AS dkey FROM file WHERE dmid = ? AND ${dst.sql} LIMIT 1${d.forUpdate}`, dmid, ...dst.params,
      );
      if (taken) throw new MogError('key_exists', `key "${k.read(taken.dkey)}" already starts with "${to}"; move or delete it first`);
      const longest = await q.get<{ n: number | null }>(
        `SELECT MAX(${d.byteLength('dkey')}) AS n FROM file WHERE dmid = ? AND ${src.sql}`, dmid, ...src.params,
      );
      const n = Number(longest?.n ?? 0);
      if (n === 0) return 0;
      const grow = bytes(toBound) - bytes(k.bind(from));
      if (n + grow > this.maxKeyLength) {
        throw new MogError('key_too_long', `renaming "${from}" to "${to}" makes a key of ${n + grow} bytes; this database holds at most ${this.maxKeyLength}`);
      }
      const r = await q.run(
        `UPDATE file SET dkey = ${d.concat(k.param, 'SUBSTR(dkey, ?)')} WHERE dmid = ? AND ${src.sql}`, toBound, k.after(from), dmid, ...src.params,
      );
      return r.changes;
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
    const starts = prefix === '' ? { sql: '1 = 1', params: [] } : k.startsWith('dkey', prefix);
    if (starts === null) return [];
    const fromKey = k.bind(from);
    const conds = ['dmid = ?', inclusive ? `dkey >= ${k.param}` : `dkey > ${k.param}`, starts.sql];
    // ORDER BY the column, not the CAST alias, or MySQL sorts instead of reading the index in order.
    const rows = await this.db.all<{ dkey: Buffer | string }>(
      `SELECT ${k.select('dkey')} AS dkey FROM file WHERE ${conds.join(' AND ')} ORDER BY file.dkey LIMIT ?`,
      dmid, fromKey, ...starts.params, this.d.limit(limit),
    );
    return rows.map((r) => k.read(r.dkey));
  }

  async listFids(from: number, count: number): Promise<FileRow[]> {
    const rows = await this.db.all<FileRow>(`SELECT ${this.fileCols} FROM file WHERE fid > ? ORDER BY fid LIMIT ?`, from, this.d.limit(count));
    return rows.map((r) => this.fileRow(r) as FileRow);
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
    return { file: this.fileRow(file) as FileRow, devids: devidsOf(rows) };
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
      file: this.fileRow(file) as FileRow,
      devids: devidsOf(rows),
      checksum: hashtype !== null && checksum !== null ? { hashtype: Number(hashtype), checksum: Buffer.from(checksum) } : null,
    };
  }

  async fileDevids(fid: number): Promise<number[]> {
    return (await this.db.all<{ devid: number }>('SELECT devid FROM file_on WHERE fid = ? ORDER BY devid', fid)).map((r) => Number(r.devid));
  }

  /**
   * Two statements that need no transaction (as the original's
   * add_fidid_to_devid + update_devcount; see SqlDb.batch): the recount reads committed rows,
   * so whichever recount runs last sets the right devcount. True when the
   * file row exists (the recount matched it).
   */
  addFileOn(fid: number, devid: number): Promise<boolean> {
    return this.db.batch(async (q) => {
      await q.run(`${this.d.insertIgnore} INTO file_on (fid, devid) VALUES (?, ?)`, fid, devid);
      return (await refreshDevcount(q, this.d, fid)) > 0;
    });
  }

  async removeFileOn(fid: number, devid: number): Promise<void> {
    await this.db.tx(async (q) => {
      await q.run('DELETE FROM file_on WHERE fid = ? AND devid = ?', fid, devid);
      await refreshDevcount(q, this.d, fid);
    });
  }

  async getChecksum(fid: number): Promise<Checksum | null> {
    const r = await this.db.get<Checksum>('SELECT hashtype, checksum FROM checksum WHERE fid = ?', fid);
    return r ? { hashtype: Number(r.hashtype), checksum: Buffer.from(r.checksum) } : null;
  }

  async setChecksum(fid: number, c: Checksum): Promise<void> {
    await this.db.run(`${this.d.replace} INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)`, fid, c.hashtype, c.checksum);
  }
}

/** create_close of a fid whose tempfile row is gone. */
export function noTempFile(fid: number): MogError {
  return new MogError('no_temp_file', `fid ${fid} has no open upload (closed twice, or expired); upload again`);
}

function devidsOf(rows: { devid: number | null }[]): number[] {
  return rows.filter((r) => r.devid !== null).map((r) => Number(r.devid)).sort((a, b) => a - b);
}

/** Rows matched: 1 when the file row exists. */
export async function refreshDevcount(q: Q, d: SqlDb['dialect'], fid: number): Promise<number> {
  const r = await q.run(`UPDATE file SET devcount = ${d.least}(${MAX_DEVCOUNT}, (SELECT COUNT(*) FROM file_on WHERE fid = ?)) WHERE fid = ?`, fid, fid);
  return r.changes;
}

/** Inside a transaction: the file row and what hangs on it go, the fid is queued for deletion from its devices. */
export async function removeFile(q: Q, d: SqlDb['dialect'], fid: number, now: number): Promise<void> {
  for (const table of ['file', 'tempfile', 'checksum', 'mogfs_file_attr', 'mogfs_file_xattr']) {
    await q.run(`DELETE FROM ${table} WHERE fid = ?`, fid);
  }
  await q.run(
    `INSERT INTO file_to_delete2 (fid, nexttry) VALUES (?, ?)${d.upsert('fid', `nexttry = ${d.least}(nexttry, ${d.excluded('nexttry')})`)}`,
    fid, now,
  );
}
