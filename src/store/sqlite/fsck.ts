/**
 * fsck's rows on SQLite (see ../fsck.ts): fsck_log, the FSCK jobs of
 * file_to_queue and the fsck_* server settings. Each call is one immediate
 * transaction, so the walk's position moves with the jobs it queued.
 */
import type { FsckInjectResult, FsckJob, FsckLogRow, FsckStore, NewFsckEvent } from '../fsck';
import { FSCK_KEYS, FSCK_QUEUE } from '../fsck';
import type { SqliteDb } from './db';

type Run = <T>(fn: (db: SqliteDb) => T) => Promise<T>;

export class SqliteFsck implements FsckStore {
  /** `run` calls fn with the open database, retried off the event loop while another process holds the lock. */
  constructor(private readonly run: Run) {}

  updateSettings(patch: Record<string, string | null>): Promise<void> {
    return this.run((db) => db.tx(() => {
      for (const [field, value] of Object.entries(patch)) setIn(db, field, value);
    }));
  }

  incrSetting(field: string, n: number): Promise<void> {
    return this.run((db) => db.tx(() => {
      const cur = Number(getIn(db, field) ?? 0) || 0;
      setIn(db, field, String(cur + n));
    }));
  }

  maxFid(): Promise<number> {
    return this.run((db) => Number(db.get<{ m: number | null }>('SELECT MAX(fid) AS m FROM file')?.m ?? 0));
  }

  inject(now: number, limit: number, maxQueue: number): Promise<FsckInjectResult> {
    return this.run((db) => db.tx((): FsckInjectResult => {
      if (!getIn(db, FSCK_KEYS.host)) return { running: false, queued: 0, finished: false };
      const queued = queueLength(db);
      if (queued >= maxQueue) return { running: true, queued: 0, finished: false };
      const hi = Number(getIn(db, FSCK_KEYS.highest) ?? 0) || 0;
      const end = Number(getIn(db, FSCK_KEYS.end) ?? 0) || 0;
      const room = Math.max(0, Math.min(limit, maxQueue - queued));
      const fids = room > 0 && hi < end
        ? db.all<{ fid: number }>('SELECT fid FROM file WHERE fid > ? AND fid <= ? ORDER BY fid LIMIT ?', hi, end, room).map((r) => r.fid)
        : [];
      if (fids.length > 0) {
        for (const fid of fids) {
          db.run(
            `INSERT INTO file_to_queue (fid, devid, type, nexttry) VALUES (?, NULL, ?, ?)
             ON CONFLICT (fid, type) DO NOTHING`,
            fid, FSCK_QUEUE, now,
          );
        }
        setIn(db, FSCK_KEYS.highest, String(fids[fids.length - 1]));
        return { running: true, queued: fids.length, finished: false };
      }
      if (queued > 0) return { running: true, queued: 0, finished: false };
      // Nothing left to queue and nothing left to check: the walk is over.
      if (end > hi) setIn(db, FSCK_KEYS.highest, String(end));
      setIn(db, FSCK_KEYS.host, null);
      setIn(db, FSCK_KEYS.stopTime, String(now));
      return { running: false, queued: 0, finished: true };
    }));
  }

  claim(now: number, limit: number, leaseSeconds: number): Promise<FsckJob[]> {
    return this.run((db) => db.tx(() => {
      const jobs = db.all<FsckJob>(
        'SELECT fid, nexttry, failcount FROM file_to_queue WHERE type = ? AND nexttry <= ? ORDER BY nexttry, fid LIMIT ?',
        FSCK_QUEUE, now, limit,
      );
      for (const j of jobs) db.run('UPDATE file_to_queue SET nexttry = ? WHERE fid = ? AND type = ?', now + leaseSeconds, j.fid, FSCK_QUEUE);
      return jobs;
    }));
  }

  async finish(fid: number): Promise<void> {
    await this.run((db) => db.run('DELETE FROM file_to_queue WHERE fid = ? AND type = ?', fid, FSCK_QUEUE));
  }

  async retry(fid: number, nexttry: number, failcount: number): Promise<void> {
    await this.run((db) => db.run(
      'UPDATE file_to_queue SET nexttry = ?, failcount = ? WHERE fid = ? AND type = ?', nexttry, Math.min(failcount, 255), fid, FSCK_QUEUE,
    ));
  }

  queueLength(): Promise<number> {
    return this.run((db) => queueLength(db));
  }

  async clearQueue(): Promise<void> {
    await this.run((db) => db.run('DELETE FROM file_to_queue WHERE type = ?', FSCK_QUEUE));
  }

  async log(events: NewFsckEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.run((db) => db.tx(() => {
      for (const e of events) {
        db.run('INSERT INTO fsck_log (utime, fid, evcode, devid) VALUES (?, ?, ?, ?)', e.utime, e.fid, e.evcode, e.devid ?? null);
      }
    }));
  }

  logRows(afterLogid: number, limit: number): Promise<FsckLogRow[]> {
    return this.run((db) => db.all<FsckLogRow>(
      'SELECT logid, utime, fid, evcode, devid FROM fsck_log WHERE logid > ? ORDER BY logid LIMIT ?', afterLogid, limit,
    ));
  }

  async clearLog(): Promise<void> {
    await this.run((db) => db.run('DELETE FROM fsck_log'));
  }

  maxLogid(): Promise<number> {
    return this.run((db) => Number(db.get<{ m: number | null }>('SELECT MAX(logid) AS m FROM fsck_log')?.m ?? 0));
  }

  evcodeCounts(afterLogid: number): Promise<Record<string, number>> {
    return this.run((db) => {
      const out: Record<string, number> = {};
      for (const r of db.all<{ evcode: string; n: number }>(
        'SELECT evcode, COUNT(*) AS n FROM fsck_log WHERE logid > ? GROUP BY evcode', afterLogid,
      )) out[r.evcode] = Number(r.n);
      return out;
    });
  }
}

function getIn(db: SqliteDb, field: string): string | null {
  return db.get<{ value: string | null }>('SELECT value FROM server_settings WHERE field = ?', field)?.value ?? null;
}

function setIn(db: SqliteDb, field: string, value: string | null): void {
  if (value === null) db.run('DELETE FROM server_settings WHERE field = ?', field);
  else db.run('INSERT OR REPLACE INTO server_settings (field, value) VALUES (?, ?)', field, value);
}

function queueLength(db: SqliteDb): number {
  return Number(db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_queue WHERE type = ?', FSCK_QUEUE)?.n ?? 0);
}
