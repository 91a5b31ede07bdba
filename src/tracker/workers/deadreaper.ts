/**
 * The dead-device reaper (the original's Reaper worker): the copies on a
 * device marked dead are gone for good, so every fid it held is queued for
 * replication from its other copies, and its file_on row there dropped (with
 * devcount), a batch per transaction. It is resumable (whatever is left on
 * the device is simply found again next pass) and every tracker sharing the
 * database may run it at once: each batch is claimed in the database.
 */
import { LAYOUT_TTL_MS } from '../layout';
import type { WorkerEnv } from './env';
import { periodic } from './periodic';
import { nowSec } from './pump';

/** fids per transaction. */
const BATCH = 250;
/** fids queued per dead device per pass, as the original's queue_rate_for_reaper default. */
const DEFAULT_RATE = 1000;
/**
 * The replication is delayed past the layout cache's lifetime, as the
 * original delays it past its device cache: a tracker that has not yet seen
 * the device dead could otherwise pick it as a copy's destination.
 */
const DELAY_SEC = Math.ceil(LAYOUT_TTL_MS / 1000) + 1;

/** One pass over every dead device; returns how many fids it queued. */
export async function reapDeadDevices(env: WorkerEnv): Promise<number> {
  const { store } = env.ctx;
  const dead = (await env.ctx.layout()).devices.filter((d) => d.status === 'dead');
  if (dead.length === 0) return 0;
  const settings = await store.getSettings();
  const rate = positive(settings.queue_rate_for_reaper) ?? DEFAULT_RATE;
  const maxQueue = positive(settings.queue_size_for_reaper);
  let total = 0;
  for (const dev of dead) {
    let limit = rate;
    // queue_size_for_reaper: leave the replication queue no longer than this (0/unset: no cap).
    if (maxQueue !== null) limit = Math.min(limit, maxQueue - (await store.queueDepths()).replicate);
    while (limit > 0) {
      const want = Math.min(BATCH, limit);
      const fids = await store.reapDeviceFids(dev.devid, want, nowSec() + DELAY_SEC);
      total += fids.length;
      limit -= fids.length;
      if (fids.length > 0) env.ctx.wake('replicate');
      if (fids.length < want) break;
    }
  }
  return total;
}

function positive(v: string | undefined): number | null {
  const n = Math.trunc(Number(v));
  return Number.isFinite(n) && n > 0 ? n : null;
}

export interface DeadReaper {
  /** A device was just marked dead: pass now rather than at the next interval. */
  wake(): void;
  close(): Promise<void>;
}

/** Runs a pass now and then every intervalMs (the original: every 5 s), or when woken. */
export function startDeadReaper(env: WorkerEnv, intervalMs: number): DeadReaper {
  return periodic(intervalMs, () => reapDeadDevices(env)
    .then((n) => {
      if (n) env.log.info({ queued: n }, 'queued the files of dead devices for replication');
    })
    .catch((err: unknown) => env.log.error({ err }, 'dead-device reaper pass failed; will try again')));
}
