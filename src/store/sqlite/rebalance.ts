/** MoveStore on SQLite (see ../rebalance.ts): one tracker per file, so the exclusive section is an in-process mutex. */
import type { FidLength, MoveStore } from '../rebalance';
import { LocalMutex } from '../rebalance';
import type { SqliteDb } from './db';

export class SqliteMoves implements MoveStore {
  private readonly mutex = new LocalMutex();

  constructor(private readonly db: () => SqliteDb, private readonly call: <T>(fn: () => T) => Promise<T>) {}

  deviceFidChunk(devid: number, age: 'old' | 'new', after: number, limit: number): Promise<FidLength[]> {
    return this.call(() => {
      const sql =
        age === 'new'
          ? `SELECT o.fid, f.length FROM file_on o JOIN file f ON f.fid = o.fid
             WHERE o.devid = ? AND (? = 0 OR o.fid < ?) ORDER BY o.fid DESC LIMIT ?`
          : `SELECT o.fid, f.length FROM file_on o JOIN file f ON f.fid = o.fid
             WHERE o.devid = ? AND ? >= 0 AND o.fid > ? ORDER BY o.fid LIMIT ?`;
      return this.db()
        .all<{ fid: number; length: number | null }>(sql, devid, after, after, limit)
        .map((r) => ({ fid: r.fid, length: r.length ?? 0 }));
    });
  }

  enqueueMoves(fids: number[], fromdevid: number | null, flags: number, nexttry: number): Promise<number[]> {
    return this.call(() =>
      this.db().tx(() => {
        const out: number[] = [];
        for (const fid of fids) {
          const r = this.db().run(
            'INSERT OR IGNORE INTO file_to_replicate (fid, nexttry, fromdevid, flags) VALUES (?, ?, ?, ?)',
            fid, nexttry, fromdevid, flags,
          );
          if (r.changes > 0) out.push(fid);
        }
        return out;
      }),
    );
  }

  queueDeviceFids(devid: number, after: number, limit: number, nexttry: number): Promise<{ queued: number; last: number | null }> {
    return this.call(() =>
      this.db().tx(() => {
        const fids = this.db()
          .all<{ fid: number }>('SELECT fid FROM file_on WHERE devid = ? AND fid > ? ORDER BY fid LIMIT ?', devid, after, limit)
          .map((r) => r.fid);
        if (fids.length === 0) return { queued: 0, last: null };
        const last = fids[fids.length - 1]!;
        const r = this.db().run(
          `INSERT OR IGNORE INTO file_to_replicate (fid, nexttry, fromdevid, flags)
           SELECT fid, ?, NULL, 0 FROM file_on WHERE devid = ? AND fid > ? AND fid <= ?`,
          nexttry, devid, after, last,
        );
        return { queued: r.changes, last };
      }),
    );
  }

  deviceUsage(devid: number): Promise<{ files: number; bytes: number }> {
    return this.call(() => {
      const r = this.db().get<{ n: number; b: number | null }>(
        'SELECT COUNT(*) AS n, SUM(f.length) AS b FROM file_on o JOIN file f ON f.fid = o.fid WHERE o.devid = ?', devid,
      );
      return { files: r?.n ?? 0, bytes: r?.b ?? 0 };
    });
  }

  exclusive<T>(_name: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }
}
