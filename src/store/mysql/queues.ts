/**
 * The delete queue on MySQL (the replicate queue is in replicate.ts), shared
 * by every tracker on the database. A claim selects due rows FOR UPDATE SKIP LOCKED (MariaDB 10.6+,
 * MySQL 8) and pushes their nexttry forward by a lease in the same
 * transaction, so two trackers never take the same job; a tracker that dies
 * mid-job loses its lease and the job comes back when it runs out.
 */
import type { DeleteJob } from '../types';
import { chunks, lim, limit as limitParam, marks, MysqlDb, padList, Q } from './db';

export class MysqlQueues {
  /** skipLocked: the server has SKIP LOCKED; without it plain FOR UPDATE still serialises claimers correctly. */
  constructor(private readonly db: MysqlDb, private readonly skipLocked: boolean) {}

  private async claim<T extends { fid: number }>(
    table: string, cols: string, now: number, limit: number, leaseSeconds: number,
  ): Promise<T[]> {
    const n = lim(limit);
    if (n === 0) return [];
    return this.db.tx(async (q: Q) => {
      const jobs = await q.all<T>(
        `SELECT ${cols} FROM ${table} WHERE nexttry <= ? ORDER BY nexttry LIMIT ? FOR UPDATE${this.skipLocked ? ' SKIP LOCKED' : ''}`,
        now, limitParam(n),
      );
      for (const part of chunks(jobs.map((j) => j.fid))) {
        const fids = padList(part);
        await q.run(`UPDATE ${table} SET nexttry = ? WHERE fid IN (${marks(fids.length)})`, now + leaseSeconds, ...fids);
      }
      return jobs;
    });
  }

  async enqueueDelete(fid: number, nexttry: number): Promise<void> {
    await this.db.run(
      'INSERT INTO file_to_delete2 (fid, nexttry) VALUES (?, ?) ON DUPLICATE KEY UPDATE nexttry = LEAST(nexttry, VALUES(nexttry))',
      fid, nexttry,
    );
  }

  claimDeleteJobs(now: number, limit: number, leaseSeconds: number): Promise<DeleteJob[]> {
    return this.claim<DeleteJob>('file_to_delete2', 'fid, nexttry, failcount', now, limit, leaseSeconds);
  }

  async finishDelete(fid: number): Promise<void> {
    await this.db.run('DELETE FROM file_to_delete2 WHERE fid = ?', fid);
  }

  async retryDelete(fid: number, nexttry: number, failcount: number): Promise<void> {
    await this.db.run('UPDATE file_to_delete2 SET nexttry = ?, failcount = ? WHERE fid = ?', nexttry, Math.min(failcount, 255), fid);
  }

  async queueDepths(): Promise<{ replicate: number; delete: number }> {
    const r = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_replicate');
    const d = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_delete2');
    return { replicate: Number(r?.n ?? 0), delete: Number(d?.n ?? 0) };
  }
}

/** SKIP LOCKED exists from MariaDB 10.6 and MySQL 8.0.1. */
export function supportsSkipLocked(version: string): boolean {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) return false;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (/mariadb/i.test(version)) return maj > 10 || (maj === 10 && min >= 6);
  return maj > 8 || (maj === 8 && (min > 0 || patch >= 1));
}
