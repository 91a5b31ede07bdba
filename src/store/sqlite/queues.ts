/**
 * The delete queue on SQLite (the replicate queue is in replicate.ts). A
 * claim pushes the jobs' nexttry forward by a lease inside one immediate
 * transaction, so another process on the same file cannot claim them until
 * the lease runs out.
 */
import type { DeleteJob } from '../types';
import type { SqliteDb } from './db';

export class SqliteQueues {
  constructor(private readonly db: SqliteDb) {}

  enqueueDelete(fid: number, nexttry: number): void {
    this.db.run(
      `INSERT INTO file_to_delete2 (fid, nexttry) VALUES (?, ?)
       ON CONFLICT (fid) DO UPDATE SET nexttry = MIN(nexttry, excluded.nexttry)`,
      fid, nexttry,
    );
  }

  claimDeleteJobs(now: number, limit: number, leaseSeconds: number): DeleteJob[] {
    return this.db.tx(() => {
      const jobs = this.db.all<DeleteJob>(
        'SELECT fid, nexttry, failcount FROM file_to_delete2 WHERE nexttry <= ? ORDER BY nexttry, fid LIMIT ?', now, limit,
      );
      for (const j of jobs) this.db.run('UPDATE file_to_delete2 SET nexttry = ? WHERE fid = ?', now + leaseSeconds, j.fid);
      return jobs;
    });
  }

  finishDelete(fid: number): void {
    this.db.run('DELETE FROM file_to_delete2 WHERE fid = ?', fid);
  }

  deleteJobState(fid: number): { live: boolean; devids: number[] } {
    const r = this.db.get<{ live: number; devids: string | null }>(
      'SELECT EXISTS (SELECT 1 FROM file WHERE fid = ?) AS live, (SELECT group_concat(devid) FROM file_on WHERE fid = ?) AS devids', fid, fid);
    const list = r?.devids ?? '';
    return { live: r?.live === 1, devids: list === '' ? [] : list.split(',').map(Number).sort((a, b) => a - b) };
  }

  finishDeletedFile(fid: number): boolean {
    return this.db.tx(() => {
      if (this.db.get('SELECT 1 FROM file WHERE fid = ?', fid)) return false;
      this.db.run('DELETE FROM file_on WHERE fid = ?', fid);
      this.db.run('DELETE FROM file_to_delete2 WHERE fid = ?', fid);
      return true;
    });
  }

  retryDelete(fid: number, nexttry: number, failcount: number): void {
    this.db.run('UPDATE file_to_delete2 SET nexttry = ?, failcount = ? WHERE fid = ?', nexttry, Math.min(failcount, 255), fid);
  }

  queueDepths(): { replicate: number; delete: number } {
    const r = this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_replicate')?.n ?? 0;
    const d = this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_delete2')?.n ?? 0;
    return { replicate: r, delete: d };
  }
}
