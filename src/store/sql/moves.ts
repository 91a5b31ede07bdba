/**
 * MoveStore (see ../rebalance.ts): what drain and rebalance read and queue.
 * Statement texts are fixed (lists padded, LIMIT a parameter); the
 * exclusive section is the engine's (SqlDb.exclusive).
 */
import type { FidLength, MoveStore } from '../rebalance';
import { type Dialect, lim, type SqlDb } from './conn';
import { chunks, marks, padList } from './lists';

export class Moves implements MoveStore {
  constructor(private readonly db: SqlDb) {}

  private get d(): Dialect { return this.db.dialect; }

  async deviceFidChunk(devid: number, age: 'old' | 'new', after: number, limit: number): Promise<FidLength[]> {
    const n = lim(limit);
    if (n === 0) return [];
    const sql =
      age === 'new'
        ? `SELECT o.fid, f.length FROM file_on o JOIN file f ON f.fid = o.fid
           WHERE o.devid = ? AND (? = 0 OR o.fid < ?) ORDER BY o.fid DESC LIMIT ?`
        : `SELECT o.fid, f.length FROM file_on o JOIN file f ON f.fid = o.fid
           WHERE o.devid = ? AND ? >= 0 AND o.fid > ? ORDER BY o.fid LIMIT ?`;
    const rows = await this.db.all<{ fid: number; length: number | null }>(sql, devid, after, after, this.d.limit(n));
    return rows.map((r) => ({ fid: Number(r.fid), length: Number(r.length ?? 0) }));
  }

  async enqueueMoves(fids: number[], fromdevid: number | null, flags: number, nexttry: number): Promise<number[]> {
    if (fids.length === 0) return [];
    const d = this.d;
    return this.db.tx(async (q) => {
      const out: number[] = [];
      for (const part of chunks(fids)) {
        const list = padList(part);
        const queued = await q.all<{ fid: number }>(
          `SELECT fid FROM file_to_replicate WHERE fid IN (${marks(list.length)})${d.forUpdate}`, ...list,
        );
        const taken = new Set(queued.map((r) => Number(r.fid)));
        const free = part.filter((fid) => !taken.has(fid));
        if (free.length === 0) continue;
        const fl = padList(free);
        await q.run(
          `${d.insertIgnore} INTO file_to_replicate (fid, nexttry, fromdevid, flags) VALUES ${marks(fl.length, '(?, ?, ?, ?)')}`,
          ...fl.flatMap((fid) => [fid, nexttry, fromdevid, flags]),
        );
        out.push(...free);
      }
      return out;
    });
  }

  async queueDeviceFids(devid: number, after: number, limit: number, nexttry: number): Promise<{ queued: number; last: number | null }> {
    const n = lim(limit);
    if (n === 0) return { queued: 0, last: null };
    const rows = await this.db.all<{ fid: number }>(
      'SELECT fid FROM file_on WHERE devid = ? AND fid > ? ORDER BY fid LIMIT ?', devid, after, this.d.limit(n),
    );
    if (rows.length === 0) return { queued: 0, last: null };
    const last = Number(rows[rows.length - 1]!.fid);
    const res = await this.db.run(
      `${this.d.insertIgnore} INTO file_to_replicate (fid, nexttry, fromdevid, flags)
       SELECT fid, ?, NULL, 0 FROM file_on WHERE devid = ? AND fid > ? AND fid <= ?`,
      nexttry, devid, after, last,
    );
    return { queued: res.changes, last };
  }

  async deviceUsage(devid: number): Promise<{ files: number; bytes: number }> {
    const r = await this.db.get<{ n: number; b: number | string | null }>(
      'SELECT COUNT(*) AS n, SUM(f.length) AS b FROM file_on o JOIN file f ON f.fid = o.fid WHERE o.devid = ?', devid,
    );
    return { files: Number(r?.n ?? 0), bytes: Number(r?.b ?? 0) };
  }

  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.db.exclusive(name, fn);
  }
}
