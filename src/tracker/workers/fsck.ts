/**
 * The fsck job (the original's Fsck worker, with the JobMaster's queue
 * injection): while a walk is on (fsck_host set by fsck_start), fids are
 * queued from fsck_highest_fid_checked upward in file_to_queue (type FSCK),
 * a step at a time in one transaction, and every tracker sharing the
 * database claims jobs from that queue with a lease, as replicate and
 * delete do. So the walk is shared, and a tracker that stops (or dies)
 * leaves only its leased jobs, which come back. Each fid is checked (and
 * repaired) by fsckfid.ts.
 */
import { hostname } from 'node:os';
import type { FsckJob } from '../../store';
import { FSCK_KEYS } from '../../store';
import type { WorkerEnv } from './env';
import { checkFid, type WalkOptions } from './fsckfid';
import { backoffSec, JobPump, nowSec } from './pump';

/** The original's DEF_FSCK_QUEUE_MAX and DEF_FSCK_QUEUE_INJECT (server settings queue_size_for_fsck, queue_rate_for_fsck). */
const DEF_QUEUE_MAX = 20_000;
const DEF_QUEUE_INJECT = 1000;
/** A claimed fsck job is ours for this long. */
const LEASE_SEC = 120;
/** Retry schedule for a fid whose copies could not be reached, seconds. */
const STALL_BACKOFF_SEC = [5, 15, 60, 300, 900, 3600];

/** The host name fsck_start records in fsck_host, as the original's MogileFS::Config->hostname. */
export function fsckHostname(): string {
  return hostname();
}

export interface FsckWorker {
  wake(): void;
  close(): Promise<void>;
}

export function startFsck(env: WorkerEnv, ready: Promise<void>, parallel = 4): FsckWorker {
  const { store } = env.ctx;
  let started = false;
  let walk: WalkOptions = { policyOnly: false, checksum: 'class', skipDevcount: false };
  let checked = 0;

  const flushChecked = async (): Promise<void> => {
    if (checked === 0) return;
    const n = checked;
    checked = 0;
    await store.fsck.incrSetting(FSCK_KEYS.fidsChecked, n).catch((err: unknown) => {
      checked += n;
      env.log.warn({ err }, 'fsck: could not record progress');
    });
  };

  const pump = new JobPump<FsckJob>({
    name: 'fsck',
    parallel,
    batch: parallel * 8,
    pollMs: env.opts.pollMs,
    claim: async (limit) => {
      await flushChecked();
      if (!started) return [];
      const settings = await store.getSettings();
      if (!settings[FSCK_KEYS.host]) return [];
      walk = {
        policyOnly: truthy(settings[FSCK_KEYS.policyOnly]),
        checksum: settings.fsck_checksum || 'class',
        skipDevcount: truthy(settings.skip_devcount),
      };
      const now = nowSec();
      const step = await store.fsck.inject(
        now,
        positive(settings.queue_rate_for_fsck) ?? DEF_QUEUE_INJECT,
        positive(settings.queue_size_for_fsck) ?? DEF_QUEUE_MAX,
      );
      if (step.finished) env.log.info('fsck: every fid checked, the walk is done');
      if (!step.running) return [];
      return store.fsck.claim(now, limit, LEASE_SEC);
    },
    run: async (job) => {
      try {
        await checkFid(env, job.fid, walk);
      } catch (err) {
        const delay = backoffSec(STALL_BACKOFF_SEC, job.failcount);
        const why = err instanceof Error ? err.message : String(err);
        env.log.warn({ fid: job.fid, retryInSec: delay }, `fsck of fid ${job.fid} stalled: ${why}`);
        await store.fsck.retry(job.fid, nowSec() + delay, job.failcount + 1);
        return;
      }
      await store.fsck.finish(job.fid);
      checked++;
    },
    // Handed back due now, so the next claim (ours or another tracker's) takes it at once.
    release: (job) => store.fsck.retry(job.fid, nowSec(), job.failcount),
    log: env.log,
  });
  void ready.then(() => {
    started = true;
    pump.wake();
  });
  return {
    wake: () => pump.wake(),
    async close() {
      await pump.close();
      await flushChecked();
    },
  };
}

/** Perl truthiness of a setting: missing, '' and '0' are false. */
function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0';
}

function positive(v: string | undefined): number | null {
  const n = Math.trunc(Number(v));
  return Number.isFinite(n) && n > 0 ? n : null;
}
