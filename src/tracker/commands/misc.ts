/**
 * Housekeeping commands: noop, sleep, clear_cache, replicate_now,
 * do_monitor_round (Query.pm), and the fsck/rebalance family, which answer
 * a clear error until this tracker runs those jobs.
 */
import { mogErr } from './errors';
import { fsckCommands } from './fsck';
import { num } from './lookup';
import type { Handler } from './types';
import { rebalanceCommands } from './rebalance';

export const noop: Handler = async () => ({});

/** Longest sleep we honour, seconds; the original has no cap, but a stuck connection helps no one. */
const MAX_SLEEP_SEC = 3600;

export const sleep: Handler = async ({ closing }, args) => {
  const secs = Math.min(num(args.duration) || 10, MAX_SLEEP_SEC);
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, Math.max(0, secs) * 1000);
    function done(): void {
      clearTimeout(t);
      closing.removeEventListener('abort', done);
      resolve();
    }
    closing.addEventListener('abort', done);
  });
  return {};
};

/** Forgets cached layout and asks the monitor for a fresh round; echoes the args, as the original does. */
export const clear_cache: Handler = async ({ ctx }, args) => {
  ctx.invalidateLayout();
  ctx.wake('monitor');
  return { ...args };
};

export const do_monitor_round: Handler = async ({ ctx }) => {
  ctx.invalidateLayout();
  ctx.wake('monitor');
  return {};
};

/**
 * Makes every deferred replication job due now rather than at its retry
 * time, and says how many it pulled forward, as the original does. Jobs a
 * tracker is running right now keep their lease (no second copy starts).
 */
export const replicate_now: Handler = async ({ ctx }) => {
  const count = await ctx.store.replicateNow();
  ctx.wake('replicate');
  return { count };
};

function notYet(what: string): Handler {
  return async () => {
    throw mogErr('not_implemented', `${what} is not available on this tracker yet; it arrives with the fsck/rebalance jobs`);
  };
}

export const jobCommands: Record<string, Handler> = {
  ...fsckCommands,
  ...rebalanceCommands,
};
