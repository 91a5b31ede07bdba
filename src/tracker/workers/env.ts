/**
 * What the workers of one tracker share: the tracker context, one HTTP agent
 * for storage nodes, the fids this tracker is copying right now (a delete of
 * such a fid waits, as the original's should_begin_replicating_fidid lock
 * makes it), and the tunables.
 */
import type { Dispatcher } from 'undici';
import type { Logger } from '../../common/log';
import type { TrackerContext } from '../context';

export interface WorkerOptions {
  /** Seconds until retry after n failed replications (original: 15s, 1m, 5m, 30m, 1h, 2h, 4h, 8h, then daily). */
  replicateBackoffSec?: number[];
  /** Seconds until retry after n failed deletes (original: 10 minutes, growing a minute a try). */
  deleteBackoffSec?: number[];
  /** How often the job queues are polled for work queued by other trackers, ms. */
  pollMs?: number;
  /** How often stale tempfile rows are looked for, ms. */
  reaperIntervalMs?: number;
  /** How often devices marked dead are looked for fids to re-replicate, ms (original: 5 s). */
  deadReaperIntervalMs?: number;
}

export const defaultWorkerOptions: Required<WorkerOptions> = {
  replicateBackoffSec: [15, 60, 300, 1800, 3600, 7200, 14400, 28800, 86400],
  deleteBackoffSec: [600, 660, 720, 780, 840, 900, 1200, 1800, 3600],
  pollMs: 1000,
  reaperIntervalMs: 60_000,
  deadReaperIntervalMs: 5000,
};

export interface WorkerEnv {
  ctx: TrackerContext;
  agent: Dispatcher;
  replicating: Set<number>;
  opts: Required<WorkerOptions>;
  log: Logger;
}
