/**
 * The replication queue (file_to_replicate), shared by every tracker on the
 * database, with our own table mogfs_replicate_claim marking the jobs a
 * tracker is running. A claim takes due rows (FOR UPDATE SKIP LOCKED on
 * MySQL; SQLite's write transaction locks the file), pushes their nexttry
 * forward by a lease and records the claims, in one transaction; a re-queue
 * of a claimed job only asks for a re-check once the running copy is done.
 * That is our form of the original's per-fid replication lock
 * (should_begin_replicating_fidid), kept in rows rather than in GET_LOCK so
 * a long copy does not hold a pooled connection. A claim locks queue rows
 * before claim rows, a re-queue the other way round; the rare deadlock
 * between them is rolled back and rerun by the engine's tx().
 */
import type { ReplicateJob } from '../types';
import { type Dialect, lim, MAX_DEVCOUNT, type Q, type SqlDb } from './conn';
import { chunks, marks, padList } from './lists';
import { leaseDue } from './lease';

export class ReplicateQueue {
  constructor(private readonly db: SqlDb) {}

  private get d(): Dialect { return this.db.dialect; }

  /** Upsert keeping the earlier nexttry; a job claimed by a tracker right now is flagged for a re-check instead. */
  async enqueue(fid: number, fromdevid: number | null, nexttry: number, now: number): Promise<void> {
    await this.db.tx((q) => enqueueMany(q, this.d, [fid], fromdevid, nexttry, now));
  }

  async claim(now: number, limit: number, leaseSeconds: number): Promise<ReplicateJob[]> {
    const n = lim(limit);
    if (n === 0) return [];
    const leaseend = now + leaseSeconds;
    const d = this.d;
    return this.db.tx(async (q) => {
      const jobs = await leaseDue<ReplicateJob>(
        q, d, { table: 'file_to_replicate', cols: 'fid, nexttry, fromdevid, failcount, flags', where: '', params: [] }, now, n, leaseend,
      );
      for (const part of chunks(jobs.map((j) => j.fid))) {
        const fids = padList(part);
        // The claims, in the same transaction. A repeated row (padding) sets the same values again.
        await q.run(
          `INSERT INTO mogfs_replicate_claim (fid, leaseend, recheck) VALUES ${marks(fids.length, '(?, ?, 0)')}
           ${d.upsert('fid', `leaseend = ${d.excluded('leaseend')}, recheck = 0`)}`,
          ...fids.flatMap((fid) => [fid, leaseend]),
        );
      }
      return jobs;
    });
  }

  /** The job is done; if it was re-queued while it ran, it is due again now instead of removed. */
  async finish(fid: number, now: number): Promise<void> {
    await this.db.tx(async (q) => {
      if (await takeClaim(q, this.d, fid)) {
        await q.run('UPDATE file_to_replicate SET nexttry = ?, failcount = 0 WHERE fid = ?', now, fid);
      } else {
        await q.run('DELETE FROM file_to_replicate WHERE fid = ?', fid);
      }
    });
  }

  /** Try again at nexttry (or now, if it was re-queued while it ran). */
  async retry(fid: number, nexttry: number, failcount: number, now: number): Promise<void> {
    await this.db.tx(async (q) => {
      const at = (await takeClaim(q, this.d, fid)) ? Math.min(nexttry, now) : nexttry;
      await q.run('UPDATE file_to_replicate SET nexttry = ?, failcount = ? WHERE fid = ?', at, Math.min(failcount, 255), fid);
    });
  }

  /** replicate_now: deferred jobs nobody is running become due now; returns how many. */
  async replicateNow(now: number): Promise<number> {
    const res = await this.db.run(
      `UPDATE file_to_replicate SET nexttry = ? WHERE nexttry > ? AND NOT EXISTS
         (SELECT 1 FROM mogfs_replicate_claim c WHERE c.fid = file_to_replicate.fid AND c.leaseend > ?)`,
      now, now, now,
    );
    return res.changes;
  }

  async listFidsOnDevice(devid: number, limit: number): Promise<number[]> {
    const rows = await this.db.all<{ fid: number }>('SELECT fid FROM file_on WHERE devid = ? LIMIT ?', devid, this.d.limit(limit));
    return rows.map((r) => Number(r.fid));
  }

  /**
   * A dead device's copies, one batch: the fids are queued for replication
   * first, then their file_on rows on the device dropped and devcount
   * refreshed, in one transaction (so a crash never leaves a fid forgotten
   * but not queued). On MySQL the rows are taken FOR UPDATE SKIP LOCKED, so
   * trackers reaping the same device at once take different fids.
   */
  async reapDeviceFids(devid: number, limit: number, nexttry: number, now: number): Promise<number[]> {
    const n = lim(limit);
    if (n === 0) return [];
    const d = this.d;
    return this.db.tx(async (q) => {
      const rows = await q.all<{ fid: number }>(
        `SELECT fid FROM file_on WHERE devid = ? LIMIT ?${d.forUpdate}${d.skipLocked}`, devid, d.limit(n),
      );
      const fids = rows.map((r) => Number(r.fid));
      for (const part of chunks(fids)) {
        await enqueueMany(q, d, part, null, nexttry, now);
        const list = padList(part);
        await q.run(`DELETE FROM file_on WHERE devid = ? AND fid IN (${marks(list.length)})`, devid, ...list);
        await q.run(
          `UPDATE file SET devcount = ${d.least}(${MAX_DEVCOUNT}, (SELECT COUNT(*) FROM file_on WHERE file_on.fid = file.fid))
           WHERE fid IN (${marks(list.length)})`,
          ...list,
        );
      }
      return fids;
    });
  }
}

/** Upsert of one queue row keeping the earlier nexttry, for a fid nobody can hold a claim on (just committed). */
export async function enqueueReplicate(q: Q, d: Dialect, fid: number, fromdevid: number | null, nexttry: number): Promise<void> {
  await q.run(
    `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) VALUES (?, ?, ?)
     ${d.upsert('fid', `nexttry = ${d.least}(nexttry, ${d.excluded('nexttry')}), fromdevid = COALESCE(${d.excluded('fromdevid')}, fromdevid)`)}`,
    fid, nexttry, fromdevid,
  );
}

/**
 * A just-committed fid's job, queued already claimed by this tracker until
 * `leaseend` (create_close hands it straight to its replicator): the queue
 * row and the claim row as claim() would leave them.
 */
export async function enqueueClaimed(q: Q, d: Dialect, fid: number, leaseend: number): Promise<void> {
  await q.run(
    `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) VALUES (?, ?, NULL)
     ${d.upsert('fid', `nexttry = ${d.excluded('nexttry')}`)}`,
    fid, leaseend,
  );
  await q.run(
    `INSERT INTO mogfs_replicate_claim (fid, leaseend, recheck) VALUES (?, ?, 0)
     ${d.upsert('fid', `leaseend = ${d.excluded('leaseend')}, recheck = 0`)}`,
    fid, leaseend,
  );
}

/**
 * Inside a transaction: queue fids for replication at nexttry (keeping an
 * earlier one), except those a tracker holds a live claim on: those are
 * flagged for a re-check and keep their lease.
 */
async function enqueueMany(q: Q, d: Dialect, fids: number[], fromdevid: number | null, nexttry: number, now: number): Promise<void> {
  for (const part of chunks(fids)) {
    const list = padList(part);
    const claims = await q.all<{ fid: number; leaseend: number }>(
      `SELECT fid, leaseend FROM mogfs_replicate_claim WHERE fid IN (${marks(list.length)}) AND leaseend > ?${d.forUpdate}`,
      ...list, now,
    );
    const claimed = new Map(claims.map((c) => [Number(c.fid), Number(c.leaseend)]));
    // Padded lists repeat their last fid: the upserts below set the same values again for it.
    if (claimed.size > 0) {
      const cf = padList([...claimed.keys()]);
      await q.run(`UPDATE mogfs_replicate_claim SET recheck = 1 WHERE fid IN (${marks(cf.length)})`, ...cf);
      // The rows should be there (their claims are live); if someone removed one, it comes back when the lease ends.
      await q.run(
        `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) VALUES ${marks(cf.length, '(?, ?, ?)')}
         ${d.upsert('fid', `fromdevid = COALESCE(${d.excluded('fromdevid')}, fromdevid)`)}`,
        ...cf.flatMap((fid) => [fid, claimed.get(fid) as number, fromdevid]),
      );
    }
    const free = part.filter((fid) => !claimed.has(fid));
    if (free.length === 0) continue;
    const fl = padList(free);
    await q.run(
      `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) VALUES ${marks(fl.length, '(?, ?, ?)')}
       ${d.upsert('fid', `nexttry = ${d.least}(nexttry, ${d.excluded('nexttry')}), fromdevid = COALESCE(${d.excluded('fromdevid')}, fromdevid)`)}`,
      ...fl.flatMap((fid) => [fid, nexttry, fromdevid]),
    );
  }
}

/** Drops the claim row; returns whether a re-check was asked for while it was held. */
async function takeClaim(q: Q, d: Dialect, fid: number): Promise<boolean> {
  const c = await q.get<{ recheck: number }>(`SELECT recheck FROM mogfs_replicate_claim WHERE fid = ?${d.forUpdate}`, fid);
  if (!c) return false;
  await q.run('DELETE FROM mogfs_replicate_claim WHERE fid = ?', fid);
  return Number(c.recheck) !== 0;
}
