/**
 * fsck's rows (see ../fsck.ts): fsck_log, the FSCK jobs of file_to_queue
 * and the fsck_* server settings. A step of the walk reads the fsck_host
 * row FOR UPDATE (MySQL; SQLite's write transaction locks the file), so
 * trackers sharing the database queue each fid once and move the position
 * one after another; claims lease rows as the other queues do.
 */
import type { FsckInjectResult, FsckJob, FsckLogRow, FsckStore, NewFsckEvent } from '../fsck';
import { FSCK_KEYS, FSCK_QUEUE } from '../fsck';
import { type Dialect, lim, type Q, type SqlDb } from './conn';
import { refreshDevcount } from './files';
import { chunks, marks, padList } from './lists';
import { leaseDue } from './lease';

export class Fsck implements FsckStore {
  constructor(private readonly db: SqlDb) {}

  private get d(): Dialect { return this.db.dialect; }

  updateSettings(patch: Record<string, string | null>): Promise<void> {
    return this.db.tx(async (q) => {
      for (const [field, value] of Object.entries(patch)) await setIn(q, this.d, field, value);
    });
  }

  incrSetting(field: string, n: number): Promise<void> {
    return this.db.tx(async (q) => {
      const r = await q.get<{ value: string | null }>(`SELECT value FROM server_settings WHERE field = ?${this.d.forUpdate}`, field);
      await setIn(q, this.d, field, String((Number(r?.value ?? 0) || 0) + n));
    });
  }

  async maxFid(): Promise<number> {
    return Number((await this.db.get<{ m: number | null }>('SELECT MAX(fid) AS m FROM file'))?.m ?? 0);
  }

  async refreshDevcount(fid: number): Promise<void> {
    await refreshDevcount(this.db, this.d, fid);
  }

  inject(now: number, limit: number, maxQueue: number): Promise<FsckInjectResult> {
    const d = this.d;
    return this.db.tx(async (q): Promise<FsckInjectResult> => {
      // The walk's lock: every step, and fsck_stop, goes through this row.
      const host = await q.get<{ value: string | null }>(`SELECT value FROM server_settings WHERE field = ?${d.forUpdate}`, FSCK_KEYS.host);
      if (!host?.value) return { running: false, queued: 0, finished: false };
      const queued = await queueLength(q);
      if (queued >= maxQueue) return { running: true, queued: 0, finished: false };
      const hi = Number(await getIn(q, FSCK_KEYS.highest) ?? 0) || 0;
      const end = Number(await getIn(q, FSCK_KEYS.end) ?? 0) || 0;
      const room = lim(Math.min(limit, maxQueue - queued));
      const fids = room > 0 && hi < end
        ? (await q.all<{ fid: number }>('SELECT fid FROM file WHERE fid > ? AND fid <= ? ORDER BY fid LIMIT ?', hi, end, d.limit(room)))
          .map((r) => Number(r.fid))
        : [];
      if (fids.length > 0) {
        for (const part of chunks(fids)) {
          const padded = padList(part);
          await q.run(
            `${d.insertIgnore} INTO file_to_queue (fid, devid, type, nexttry) VALUES ${marks(padded.length, '(?, NULL, ?, ?)')}`,
            ...padded.flatMap((fid) => [fid, FSCK_QUEUE, now]),
          );
        }
        await setIn(q, d, FSCK_KEYS.highest, String(fids[fids.length - 1]));
        return { running: true, queued: fids.length, finished: false };
      }
      if (queued > 0) return { running: true, queued: 0, finished: false };
      // Nothing left to queue and nothing left to check: the walk is over.
      if (end > hi) await setIn(q, d, FSCK_KEYS.highest, String(end));
      await setIn(q, d, FSCK_KEYS.host, null);
      await setIn(q, d, FSCK_KEYS.stopTime, String(now));
      return { running: false, queued: 0, finished: true };
    });
  }

  async claim(now: number, limit: number, leaseSeconds: number): Promise<FsckJob[]> {
    const n = lim(limit);
    if (n === 0) return [];
    const d = this.d;
    const jobs = await this.db.tx((q) => leaseDue<FsckJob>(
      q, d, { table: 'file_to_queue', cols: 'fid, nexttry, failcount', where: 'type = ?', params: [FSCK_QUEUE] }, now, n, now + leaseSeconds,
    ));
    return jobs.map((j) => ({ fid: j.fid, nexttry: Number(j.nexttry), failcount: Number(j.failcount) }));
  }

  async finish(fid: number): Promise<void> {
    await this.db.run('DELETE FROM file_to_queue WHERE fid = ? AND type = ?', fid, FSCK_QUEUE);
  }

  async retry(fid: number, nexttry: number, failcount: number): Promise<void> {
    await this.db.run(
      'UPDATE file_to_queue SET nexttry = ?, failcount = ? WHERE fid = ? AND type = ?', nexttry, Math.min(failcount, 255), fid, FSCK_QUEUE,
    );
  }

  queueLength(): Promise<number> {
    return queueLength(this.db);
  }

  async clearQueue(): Promise<void> {
    await this.db.run('DELETE FROM file_to_queue WHERE type = ?', FSCK_QUEUE);
  }

  async log(events: NewFsckEvent[]): Promise<void> {
    if (events.length === 0) return;
    // One row per statement: the texts stay fixed (see ARCHITECTURE, "statement texts are bounded").
    await this.db.tx(async (q) => {
      for (const e of events) {
        await q.run('INSERT INTO fsck_log (utime, fid, evcode, devid) VALUES (?, ?, ?, ?)', e.utime, e.fid, e.evcode, e.devid ?? null);
      }
    });
  }

  async logRows(afterLogid: number, limit: number): Promise<FsckLogRow[]> {
    const rows = await this.db.all<FsckLogRow>(
      'SELECT logid, utime, fid, evcode, devid FROM fsck_log WHERE logid > ? ORDER BY logid LIMIT ?', afterLogid, this.d.limit(limit),
    );
    return rows.map((r) => ({
      logid: Number(r.logid),
      utime: Number(r.utime),
      fid: r.fid === null ? null : Number(r.fid),
      evcode: r.evcode,
      devid: r.devid === null ? null : Number(r.devid),
    }));
  }

  async clearLog(): Promise<void> {
    await this.db.run('DELETE FROM fsck_log');
  }

  async maxLogid(): Promise<number> {
    return Number((await this.db.get<{ m: number | null }>('SELECT MAX(logid) AS m FROM fsck_log'))?.m ?? 0);
  }

  async evcodeCounts(afterLogid: number): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.db.all<{ evcode: string; n: number }>(
      'SELECT evcode, COUNT(*) AS n FROM fsck_log WHERE logid > ? GROUP BY evcode', afterLogid,
    )) out[r.evcode] = Number(r.n);
    return out;
  }
}

async function getIn(q: Q, field: string): Promise<string | null> {
  return (await q.get<{ value: string | null }>('SELECT value FROM server_settings WHERE field = ?', field))?.value ?? null;
}

async function setIn(q: Q, d: Dialect, field: string, value: string | null): Promise<void> {
  if (value === null) await q.run('DELETE FROM server_settings WHERE field = ?', field);
  else await q.run(`${d.replace} INTO server_settings (field, value) VALUES (?, ?)`, field, value);
}

async function queueLength(q: Q): Promise<number> {
  return Number((await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_queue WHERE type = ?', FSCK_QUEUE))?.n ?? 0);
}
