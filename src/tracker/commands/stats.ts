/**
 * Our extension command for the gateway's status page (prefixed `mogfs_`, so
 * it never collides with stock ones): what the stock commands do not tell.
 *
 *   mogfs_stats [errors]
 *       -> domain_count, domain_N_name/_files/_bytes (every domain, empty ones too),
 *          replicate_queue, delete_queue (files waiting in each queue),
 *          errors_total (warnings and errors this tracker logged since it started),
 *          error_count, error_N_time (unix ms), error_N_level, error_N_source,
 *          error_N_message (newest first, at most `errors`, default 20)
 * Counting files per domain scans the file table, so the counts are reused
 * for a few seconds: several status pages refreshing cost one scan.
 */
import type { DomainUsage } from '../../store';
import type { TrackerContext } from '../context';
import { int } from './lookup';
import type { Handler, ReplyArgs } from './types';

/** How long file counts and queue depths are reused, ms. */
export const STATS_CACHE_MS = 5000;
const MAX_ERRORS = 50;

interface Counts {
  at: number;
  usage: DomainUsage[];
  queues: { replicate: number; delete: number };
}

const cache = new WeakMap<TrackerContext, Promise<Counts>>();

function counts(ctx: TrackerContext): Promise<Counts> {
  const cached = cache.get(ctx);
  if (cached) return cached;
  const p = Promise.all([ctx.store.domainUsage(), ctx.store.queueDepths()]).then(([usage, queues]) => ({ at: Date.now(), usage, queues }));
  cache.set(ctx, p);
  // Dropped after the TTL, or at once on failure so the next request tries again.
  p.then(
    () => setTimeout(() => cache.get(ctx) === p && cache.delete(ctx), STATS_CACHE_MS).unref(),
    () => cache.get(ctx) === p && cache.delete(ctx),
  );
  return p;
}

export const mogfs_stats: Handler = async ({ ctx }, args) => {
  const [layout, c] = await Promise.all([ctx.layout(), counts(ctx)]);
  const byDmid = new Map(c.usage.map((u) => [u.dmid, u]));
  const out: ReplyArgs = {};
  const domains = [...layout.domains].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  domains.forEach((d, i) => {
    const u = byDmid.get(d.dmid);
    out[`domain_${i + 1}_name`] = d.namespace;
    out[`domain_${i + 1}_files`] = u?.files ?? 0;
    out[`domain_${i + 1}_bytes`] = u?.bytes ?? 0;
  });
  out.domain_count = domains.length;
  out.replicate_queue = c.queues.replicate;
  out.delete_queue = c.queues.delete;
  out.counted_at = c.at;

  const wanted = args.errors === undefined ? 20 : Math.min(Math.max(int(args.errors), 0), MAX_ERRORS);
  const errors = ctx.recent.list().slice(0, wanted);
  errors.forEach((e, i) => {
    const p = `error_${i + 1}_`;
    out[`${p}time`] = e.time;
    out[`${p}level`] = e.level;
    out[`${p}source`] = e.source;
    out[`${p}message`] = e.message;
  });
  out.error_count = errors.length;
  out.errors_total = ctx.recent.total;
  return out;
};

export const commands: Readonly<Record<string, Handler>> = { mogfs_stats };
