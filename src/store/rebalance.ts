/**
 * What drain and rebalance need from the database, beside the replication
 * queue they feed: the fids on a device in fid order (the original's
 * get_fidid_chunks_by_device), queueing them as replication jobs without
 * disturbing jobs already queued, per-device file counts, and a section
 * that only one tracker at a time runs (the rebalance injector).
 */

/** file_to_replicate.flags bit: move the copy off `fromdevid` (a rebalance job, the original's REBAL queue). */
export const MOVE_FLAG = 1;

export interface FidLength {
  fid: number;
  length: number;
}

export interface MoveStore {
  /**
   * Up to `limit` fids with a copy on `devid`, with their file lengths:
   * `old` = fid > `after` ascending, `new` = fid < `after` (any when 0) descending.
   */
  deviceFidChunk(devid: number, age: 'old' | 'new', after: number, limit: number): Promise<FidLength[]>;
  /**
   * Queue each fid for replication (nexttry, fromdevid, flags) unless it
   * is queued already; returns the fids this call queued.
   */
  enqueueMoves(fids: number[], fromdevid: number | null, flags: number, nexttry: number): Promise<number[]>;
  /**
   * Drain: queue (flags 0) up to `limit` fids with a copy on `devid`, fid >
   * `after`, that are not queued yet. Returns how many were queued and the
   * last fid looked at (null when there was none: the scan reached the end).
   */
  queueDeviceFids(devid: number, after: number, limit: number, nexttry: number): Promise<{ queued: number; last: number | null }>;
  /** Files and bytes on one device. */
  deviceUsage(devid: number): Promise<{ files: number; bytes: number }>;
  /** Runs fn while no other tracker sharing the database runs a section of that name. */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
}
