/**
 * The replication queue on SQLite (file_to_replicate), with our own table
 * mogfs_replicate_claim marking the jobs a tracker is running. A claim pushes
 * nexttry forward by a lease and records the claim; a re-queue of a claimed
 * job only asks for a re-check once the running copy is done, as the
 * original's per-fid replication lock (should_begin_replicating_fidid) makes
 * a second replicator wait. SQLite has one writer per file, so each change
 * is one immediate transaction and needs no row locks.
 */
import type { ReplicateJob } from '../types';
import type { SqliteDb } from './db';

export class SqliteReplicateQueue {
  constructor(private readonly db: SqliteDb) {}

  /** Upsert keeping the earlier nexttry; a job claimed by a tracker right now is flagged for a re-check instead. */
  enqueue(fid: number, fromdevid: number | null, nexttry: number, now: number): void {
    this.db.tx(() => this.enqueueInTx(fid, fromdevid, nexttry, now));
  }

  private enqueueInTx(fid: number, fromdevid: number | null, nexttry: number, now: number): void {
    const claim = this.db.get<{ leaseend: number }>('SELECT leaseend FROM mogfs_replicate_claim WHERE fid = ?', fid);
    if (claim && claim.leaseend > now) {
      this.db.run('UPDATE mogfs_replicate_claim SET recheck = 1 WHERE fid = ?', fid);
      // The row should be there (its claim is live); if someone removed it, it comes back when the lease ends.
      this.db.run(
        `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) VALUES (?, ?, ?)
         ON CONFLICT (fid) DO UPDATE SET fromdevid = COALESCE(excluded.fromdevid, fromdevid)`,
        fid, claim.leaseend, fromdevid,
      );
      return;
    }
    this.db.run(
      `INSERT INTO file_to_replicate (fid, nexttry, fromdevid) VALUES (?, ?, ?)
       ON CONFLICT (fid) DO UPDATE SET nexttry = MIN(nexttry, excluded.nexttry),
         fromdevid = COALESCE(excluded.fromdevid, fromdevid)`,
      fid, nexttry, fromdevid,
    );
  }

  claim(now: number, limit: number, leaseSeconds: number): ReplicateJob[] {
    return this.db.tx(() => {
      const jobs = this.db.all<ReplicateJob>(
        `SELECT fid, nexttry, fromdevid, failcount, flags FROM file_to_replicate
         WHERE nexttry <= ? ORDER BY nexttry, fid LIMIT ?`, now, limit,
      );
      const leaseend = now + leaseSeconds;
      for (const j of jobs) {
        this.db.run('UPDATE file_to_replicate SET nexttry = ? WHERE fid = ?', leaseend, j.fid);
        this.db.run(
          `INSERT INTO mogfs_replicate_claim (fid, leaseend, recheck) VALUES (?, ?, 0)
           ON CONFLICT (fid) DO UPDATE SET leaseend = excluded.leaseend, recheck = 0`,
          j.fid, leaseend,
        );
      }
      return jobs;
    });
  }

  /** The job is done; if it was re-queued while it ran, it is due again now instead of removed. */
  finish(fid: number, now: number): void {
    this.db.tx(() => {
      if (this.takeClaim(fid)) {
        this.db.run('UPDATE file_to_replicate SET nexttry = ?, failcount = 0 WHERE fid = ?', now, fid);
      } else {
        this.db.run('DELETE FROM file_to_replicate WHERE fid = ?', fid);
      }
    });
  }

  /** Try again at nexttry (or now, if it was re-queued while it ran). */
  retry(fid: number, nexttry: number, failcount: number, now: number): void {
    this.db.tx(() => {
      const at = this.takeClaim(fid) ? Math.min(nexttry, now) : nexttry;
      this.db.run('UPDATE file_to_replicate SET nexttry = ?, failcount = ? WHERE fid = ?', at, Math.min(failcount, 255), fid);
    });
  }

  /** Drops the claim row; returns whether a re-check was asked for while it was held. */
  private takeClaim(fid: number): boolean {
    const c = this.db.get<{ recheck: number }>('SELECT recheck FROM mogfs_replicate_claim WHERE fid = ?', fid);
    if (!c) return false;
    this.db.run('DELETE FROM mogfs_replicate_claim WHERE fid = ?', fid);
    return c.recheck !== 0;
  }

  /** replicate_now: deferred jobs nobody is running become due now; returns how many. */
  replicateNow(now: number): number {
    return this.db.run(
      `UPDATE file_to_replicate SET nexttry = ? WHERE nexttry > ? AND NOT EXISTS
         (SELECT 1 FROM mogfs_replicate_claim c WHERE c.fid = file_to_replicate.fid AND c.leaseend > ?)`,
      now, now, now,
    ).changes;
  }

  listFidsOnDevice(devid: number, limit: number): number[] {
    return this.db.all<{ fid: number }>('SELECT fid FROM file_on WHERE devid = ? LIMIT ?', devid, limit).map((r) => r.fid);
  }

  /**
   * A dead device's copies, one batch: each fid is queued for replication
   * first, then its file_on row on the device dropped and devcount
   * refreshed, all in one transaction (so a crash never leaves a fid
   * forgotten but not queued).
   */
  reapDeviceFids(devid: number, limit: number, nexttry: number, now: number): number[] {
    return this.db.tx(() => {
      const fids = this.listFidsOnDevice(devid, limit);
      for (const fid of fids) {
        this.enqueueInTx(fid, null, nexttry, now);
        this.db.run('DELETE FROM file_on WHERE fid = ? AND devid = ?', fid, devid);
        this.db.run('UPDATE file SET devcount = (SELECT COUNT(*) FROM file_on WHERE fid = ?) WHERE fid = ?', fid, fid);
      }
      return fids;
    });
  }
}
