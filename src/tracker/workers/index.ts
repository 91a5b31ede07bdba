// The tracker's background jobs as async loops inside the tracker process
// (the original forks a process per worker): monitor, replicate, delete, the
// tempfile reaper and the dead-device reaper. Queues live in the database, so trackers sharing one
// database share the work.
import type { ReplicateHandoff, TrackerContext } from '../context';
import type { WorkerEnv, WorkerOptions } from './env';
import { defaultWorkerOptions } from './env';
import { createNodeAgent } from './http';
import { startMonitor } from './monitor';
import { JobPump, nowSec } from './pump';
import { startReaper } from './reaper';
import { startDeadReaper } from './deadreaper';
import { runReplicateJob, type HandedJob } from './replicate';
import { claimDeleteJobs, runDeleteJob } from './delete';
import { startRebalanceWorker } from './rebalance';
import { startFsck } from './fsck';
import { startIoStatWatcher } from './iostat';

export type { WorkerOptions } from './env';
export { parseUsage } from './monitor';
export { reapTempfiles } from './reaper';
export { reapDeadDevices } from './deadreaper';
export { policyMin, replicateTo } from './policy';

export type WorkerName = 'replicate' | 'delete' | 'monitor' | 'reaper' | 'rebalance' | 'fsck';

export interface WorkersHandle {
  /** Resolves once the monitor's first round over all devices is done (ctx.observed filled). */
  readonly monitorReady: Promise<void>;
  /** create_close's hand-off of new files' replication (TrackerContext.replicator). */
  readonly replicator: ReplicateHandoff;
  wake(worker: WorkerName): void;
  close(): Promise<void>;
}

/** A claimed job is ours for this long; a tracker that dies mid-job frees it after this. */
const LEASE_SEC = 120;

export function startWorkers(ctx: TrackerContext, options: WorkerOptions = {}): WorkersHandle {
  const opts = { ...defaultWorkerOptions, ...options };
  const agent = createNodeAgent(ctx.config.nodeTimeoutMs);
  const env: WorkerEnv = { ctx, agent, replicating: new Set(), opts, log: ctx.log.child({ worker: 'workers' }) };

  const monitor = startMonitor({ ...env, log: ctx.log.child({ worker: 'monitor' }) });
  const replicateJobs = Math.max(1, ctx.config.replicateJobs);
  const deleteJobs = Math.max(1, ctx.config.deleteJobs);

  // Replication waits for the first monitor round: before it, no device is
  // known writable and every job would only be pushed into backoff.
  let started = false;
  const replicateEnv: WorkerEnv = { ...env, log: ctx.log.child({ worker: 'replicate' }) };
  const replicate = new JobPump<HandedJob>({
    name: 'replicate',
    parallel: replicateJobs,
    batch: Math.max(64, replicateJobs * 8),
    pollMs: opts.pollMs,
    claim: async (limit) => (started ? ctx.store.claimReplicateJobs(nowSec(), limit, LEASE_SEC) : []),
    run: (job) => runReplicateJob(replicateEnv, job),
    release: (job) => ctx.store.retryReplicate(job.fid, job.nexttry, job.failcount),
    log: replicateEnv.log,
  });
  const deleteEnv: WorkerEnv = { ...env, log: ctx.log.child({ worker: 'delete' }) };
  const del = new JobPump({
    name: 'delete',
    parallel: deleteJobs,
    batch: Math.max(64, deleteJobs * 8),
    pollMs: opts.pollMs,
    claim: async (limit) => (started ? claimDeleteJobs(deleteEnv, limit, LEASE_SEC) : []),
    run: (job) => runDeleteJob(deleteEnv, job),
    release: (job) => ctx.store.retryDelete(job.fid, job.nexttry, job.failcount),
    log: deleteEnv.log,
  });
  void monitor.firstRound.then(() => {
    started = true;
    replicate.wake();
    del.wake();
  });
  // fsck waits for the first monitor round too: before it, every copy would look unreachable.
  const fsck = startFsck({ ...env, log: ctx.log.child({ worker: 'fsck' }) }, monitor.firstRound);
  const iostat = startIoStatWatcher({ ...env, log: ctx.log.child({ worker: 'iostat' }) });
  let closing: Promise<void> | null = null;
  let reaper: ReturnType<typeof startReaper> | null = null;
  let deadReaper: ReturnType<typeof startDeadReaper> | null = null;
  let rebalance: ReturnType<typeof startRebalanceWorker> | null = null;
  void monitor.firstRound.then(() => {
    if (closing) return;
    reaper = startReaper({ ...env, log: ctx.log.child({ worker: 'reaper' }) });
    deadReaper = startDeadReaper({ ...env, log: ctx.log.child({ worker: 'deadreaper' }) }, opts.deadReaperIntervalMs);
    // Drain and rebalance injection (the original's JobMaster looks every second).
    rebalance = startRebalanceWorker({ ...env, log: ctx.log.child({ worker: 'rebalance' }) }, Math.min(1000, opts.deadReaperIntervalMs));
  });

  const replicator: ReplicateHandoff = {
    reserve: () => (started && replicate.reserve() ? nowSec() + LEASE_SEC : null),
    take: (job, known) => replicate.take({ ...job, known }),
    cancel: () => replicate.cancel(),
  };

  return {
    monitorReady: monitor.firstRound,
    replicator,
    wake(worker: WorkerName): void {
      if (worker === 'replicate') replicate.wake();
      else if (worker === 'delete') del.wake();
      else if (worker === 'reaper') deadReaper?.wake();
      else if (worker === 'rebalance') rebalance?.wake();
      else if (worker === 'fsck') fsck.wake();
      else monitor.wake();
    },
    close(): Promise<void> {
      closing ??= (async () => {
        iostat.close();
        await Promise.all([replicate.close(), del.close(), fsck.close(), monitor.close()]);
        await Promise.all([reaper?.close(), deadReaper?.close(), rebalance?.close()]);
        await agent.close();
      })();
      return closing;
    },
  };
}
