/**
 * The monitor: every monitorIntervalMs, for each device worth watching, read
 * its usage file (`/dev<N>/usage`: available/used/total in KiB) and try a
 * test write (`/dev<N>/test-write/test-write-<n>`, PUT, read back, DELETE),
 * as the original's Monitor worker does. Results go to ctx.observed; the
 * device's mb_* columns are written only when usage moved, to spare the DB.
 */
import { SIDECHANNEL_HEADER } from '../../common/headers';
import type { DevicePatch } from '../../store';
import type { ObservedDevice } from '../context';
import type { DeviceInfo } from './devices';
import { devUrl, deviceMap, shouldMonitor } from './devices';
import type { WorkerEnv } from './env';
import { periodic } from './periodic';
import { describeError, smallRequest } from './http';
import { nowSec } from './pump';

/** Rewrite mb_asof at least this often even if usage is unchanged, seconds. */
const REFRESH_ASOF_SEC = 60;

/** Parse a usage file: `key: value` lines. Returns KiB figures, or null if used/total are missing. */
export function parseUsage(text: string): { used: number; total: number; available: number | null } | null {
  const stats = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\w+)\s*:\s*(.+)$/.exec(line);
    if (m) stats.set(m[1]!, m[2]!.trim());
  }
  const used = Number(stats.get('used'));
  const total = Number(stats.get('total'));
  if (!Number.isFinite(used) || !Number.isFinite(total) || !stats.has('used') || !total) return null;
  const avail = Number(stats.get('available'));
  return { used, total, available: Number.isFinite(avail) && stats.has('available') ? avail : null };
}

export interface Monitor {
  /** Resolves when the first round over all devices has finished. */
  readonly firstRound: Promise<void>;
  /** Run a round now (coalesced with one in progress). */
  wake(): void;
  close(): Promise<void>;
}

export function startMonitor(env: WorkerEnv): Monitor {
  let resolveFirst!: () => void;
  const firstRound = new Promise<void>((r) => (resolveFirst = r));
  /** What we last wrote per device, to write again only on a real change. */
  const written = new Map<number, { total: number; used: number; asof: number }>();
  /** Devices whose test-write directory we already created. */
  const mkcolDone = new Set<number>();
  const loop = periodic(env.ctx.config.monitorIntervalMs, () => round(env, written, mkcolDone)
    .catch((err: unknown) => env.log.error({ err }, 'monitor round failed; will try again'))
    .finally(resolveFirst));
  return {
    firstRound,
    wake: () => loop.wake(),
    async close() {
      await loop.close();
      resolveFirst();
    },
  };
}

async function round(
  env: WorkerEnv,
  written: Map<number, { total: number; used: number; asof: number }>,
  mkcolDone: Set<number>,
): Promise<void> {
  const layout = await env.ctx.layout();
  const devs = [...deviceMap(layout, env.ctx.observed).values()].filter(shouldMonitor);
  const rows = new Map(layout.devices.map((d) => [d.devid, d]));
  const results = await Promise.all(devs.map((d) => checkDevice(env, d, mkcolDone)));
  const seen = new Set<number>();
  let back = 0;
  for (const obs of results) {
    seen.add(obs.devid);
    // A device writable again (a host back on the network, a disk remounted): count it.
    if (obs.writable && env.ctx.observed.get(obs.devid)?.writable === false) back++;
    env.ctx.observed.set(obs.devid, obs);
    if (obs.mbTotal === null || obs.mbUsed === null) continue;
    const row = rows.get(obs.devid);
    const last = written.get(obs.devid) ??
      (row && row.mb_total !== null && row.mb_used !== null
        ? { total: row.mb_total, used: row.mb_used, asof: row.mb_asof ?? 0 }
        : undefined);
    if (last && !usageMoved(last, obs)) continue;
    const patch: DevicePatch = { mb_total: obs.mbTotal, mb_used: obs.mbUsed, mb_asof: obs.asof };
    try {
      await env.ctx.store.updateDevice(obs.devid, patch);
      written.set(obs.devid, { total: obs.mbTotal, used: obs.mbUsed, asof: obs.asof });
    } catch (err) {
      env.log.warn({ devid: obs.devid, err: describeError(err) }, 'monitor: saving device usage failed');
    }
  }
  // Devices now dead or deleted are no longer observed.
  for (const devid of [...env.ctx.observed.keys()]) if (!seen.has(devid)) env.ctx.observed.delete(devid);
  if (back > 0) {
    // Copies that failed while it was away are waiting out their backoff (up to hours): they are
    // retried now, as `replicate_now` would, so the cluster catches up as soon as it can.
    try {
      const n = await env.ctx.store.replicateNow();
      env.log.info({ devices: back, jobs: n }, 'devices writable again: queued replication retried now');
      env.ctx.wake('replicate');
    } catch (err) {
      env.log.warn({ err: describeError(err) }, 'monitor: retrying queued replication failed');
    }
  }
}

function usageMoved(last: { total: number; used: number; asof: number }, obs: ObservedDevice): boolean {
  if (obs.mbTotal !== last.total) return true;
  // 0.1% of the disk, or 1 MB: small churn is not worth a write per round.
  const step = Math.max(1, Math.floor(last.total / 1000));
  if (Math.abs((obs.mbUsed ?? 0) - last.used) >= step) return true;
  return obs.asof - last.asof >= REFRESH_ASOF_SEC;
}

async function checkDevice(env: WorkerEnv, d: DeviceInfo, mkcolDone: Set<number>): Promise<ObservedDevice> {
  const asof = nowSec();
  const prev = env.ctx.observed.get(d.devid);
  const timeoutMs = env.ctx.config.nodeTimeoutMs;
  const base = devUrl(d);
  const failed = (why: string): ObservedDevice => {
    if (prev?.reachable !== false) env.log.warn({ devid: d.devid, url: `${base}/usage` }, `dev${d.devid} unreachable: ${why}`);
    return { devid: d.devid, reachable: false, writable: false, mbTotal: prev?.mbTotal ?? null, mbUsed: prev?.mbUsed ?? null, asof };
  };
  let usage: ReturnType<typeof parseUsage>;
  let sidechannelPort: number | undefined;
  try {
    const res = await smallRequest(env.agent, `${base}/usage`, 'GET', { timeoutMs });
    if (res.status !== 200) return failed(`usage file answered HTTP ${res.status}`);
    usage = parseUsage(res.body.toString('utf8'));
    const sc = Number(res.headers[SIDECHANNEL_HEADER]);
    if (Number.isInteger(sc) && sc > 0 && sc < 65536) sidechannelPort = sc;
  } catch (err) {
    return failed(describeError(err));
  }
  if (!usage) return failed('usage file has no used/total figures');
  const mbTotal = Math.floor(usage.total / 1024);
  // Free space is what a writer can still use (`available`, whole MB, rounded down): rounding
  // `used` down instead showed a tmpfs with 8 KiB left as 1 MB free, and on ext4 the root
  // reserve (used + available < total) would look free though no upload can have it.
  const mbUsed = usage.available === null
    ? Math.floor(usage.used / 1024)
    : Math.max(0, mbTotal - Math.floor(usage.available / 1024));

  // Marked readonly (or its host is): no test write, and never a target.
  const writeTest = d.status !== 'readonly' && d.hostStatus !== 'readonly' && d.status !== 'down' && d.hostStatus !== 'down';
  const writable = writeTest ? await testWrite(env, d, base, mkcolDone) : false;
  if (prev && prev.writable !== writable) env.log.info({ devid: d.devid, writable }, `dev${d.devid} writable: ${writable}`);
  return { devid: d.devid, reachable: true, writable, mbTotal, mbUsed, asof, sidechannelPort };
}

async function testWrite(env: WorkerEnv, d: DeviceInfo, base: string, mkcolDone: Set<number>): Promise<boolean> {
  const timeoutMs = env.ctx.config.nodeTimeoutMs;
  const num = Math.floor(Math.random() * 100);
  const url = `${base}/test-write/test-write-${num}`;
  const content = `time=${nowSec()} rand=${num}`;
  try {
    if (!mkcolDone.has(d.devid)) {
      // The original creates the directory first; a node that makes
      // directories on PUT answers this harmlessly either way.
      await smallRequest(env.agent, `${base}/test-write`, 'MKCOL', { timeoutMs }).catch(() => undefined);
      mkcolDone.add(d.devid);
    }
    const put = await smallRequest(env.agent, url, 'PUT', { body: content, timeoutMs });
    if (put.status < 200 || put.status > 299) {
      mkcolDone.delete(d.devid);
      return false;
    }
    const get = await smallRequest(env.agent, url, 'GET', { timeoutMs });
    const ok = get.status === 200 && get.body.toString('utf8') === content;
    await smallRequest(env.agent, url, 'DELETE', { timeoutMs }).catch(() => undefined);
    return ok;
  } catch (err) {
    env.log.debug({ devid: d.devid, err: describeError(err) }, 'test write failed');
    return false;
  }
}
