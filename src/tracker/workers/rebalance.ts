/**
 * Drain and rebalance, the injecting side (the copying and removing is done
 * by replication jobs: moves.ts). One loop per tracker, every few seconds
 * or when woken:
 *
 * - Drain: each device marked drain (except the one a running rebalance is
 *   working on) has its fids queued for replication, a batch per pass,
 *   skipping fids already queued, while the replication queue is shorter
 *   than queue_size_for_rebal. The jobs copy each file to where its
 *   policy wants it and then remove the drain copy, until the device is empty.
 * - Rebalance: while rebal_host is set, the original's JobMaster
 *   _inject_rebalance_queues: the state (rebal_state) is loaded, the next
 *   fids of the current source device are queued as move jobs, and the
 *   state saved again; a `rebal_signal=stop` stops it. The pass runs in a
 *   section only one tracker holds at a time, so any tracker continues a
 *   rebalance another one started (the original leaves it to the tracker
 *   named in rebal_host).
 */
import { MOVE_FLAG } from '../../store';
import type { WorkerEnv } from './env';
import { periodic } from './periodic';
import { deviceMap } from './devices';
import type { DeviceInfo } from './devices';
import { nowSec } from './pump';
import { writableNow } from './devices';
import {
  checkLimit, filterDestDevices, filterSourceDevices, initialState, loadState, parsePolicy, saveState, startLimit,
} from '../rebalance/policy';
import type { RebalPolicy, RebalState } from '../rebalance/policy';

/** fids queued per draining device per pass. */
const DRAIN_BATCH = 1000;
/** The original's queue_size_for_rebal and queue_rate_for_rebal defaults. */
const DEF_REBAL_QUEUE_MAX = 10_000;
const DEF_REBAL_QUEUE_INJECT = 500;

export interface RebalanceWorker {
  wake(): void;
  close(): Promise<void>;
}

/** What a running rebalance is working on, from the settings: its source device is drained by it, not by the drain worker. */
export function rebalanceSource(settings: Record<string, string>): number {
  if (!settings.rebal_host || !settings.rebal_state) return 0;
  return loadState(settings.rebal_state).sdev_current;
}

/** One drain pass: queue the next batch of each draining device's fids. Returns how many were queued. */
export async function drainPass(env: WorkerEnv, cursors: Map<number, number>): Promise<number> {
  const { store } = env.ctx;
  // The layout first, then the settings: a rebalance saves its state before marking its source drain.
  const draining = (await env.ctx.layout()).devices.filter((d) => d.status === 'drain');
  if (draining.length === 0) {
    cursors.clear();
    return 0;
  }
  const settings = await store.getSettings();
  // Paced as the rebalance is: a device's millions of jobs queued at once would hold back every new file's replication.
  if ((await store.queueDepths()).replicate >= queueMax(settings)) return 0;
  const skip = rebalanceSource(settings);
  let total = 0;
  for (const d of draining) {
    if (d.devid === skip) continue;
    const after = cursors.get(d.devid) ?? 0;
    const { queued, last } = await store.moves.queueDeviceFids(d.devid, after, DRAIN_BATCH, nowSec());
    // At the end of the device start over: fids that were queued or failing come round again.
    cursors.set(d.devid, last ?? 0);
    total += queued;
  }
  if (total) env.ctx.wake('replicate');
  return total;
}

function positive(v: string | undefined): number | null {
  const n = Math.trunc(Number(v));
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** No more drain or rebalance jobs are queued while the replication queue holds this many (queue_size_for_rebal). */
function queueMax(settings: Record<string, string>): number {
  return positive(settings.queue_size_for_rebal) ?? DEF_REBAL_QUEUE_MAX;
}

/** One rebalance pass (under the exclusive section). Returns a word for the log. */
export async function rebalancePass(env: WorkerEnv): Promise<string> {
  const { store } = env.ctx;
  // Idle, the common case: one read every pass, no section taken (on MySQL a connection held for GET_LOCK).
  if (!(await store.getSettings()).rebal_host) return 'idle';
  return store.moves.exclusive('mogfs_rebalance', async () => {
    const settings = await store.getSettings();
    if (!settings.rebal_host) return 'idle';
    env.ctx.invalidateLayout();
    const devs = [...deviceMap(await env.ctx.layout(), env.ctx.observed).values()];
    let policy: RebalPolicy;
    try {
      policy = parsePolicy(settings.rebal_policy ?? '');
    } catch (err) {
      env.log.error({ err: String(err) }, 'rebalance policy is invalid; stopping the rebalance');
      await store.setSetting('rebal_host', '');
      return 'bad policy';
    }
    const state = settings.rebal_state ? loadState(settings.rebal_state) : initRebalance(policy, devs, nowSec());
    const save = (): Promise<void> => store.setSetting('rebal_state', saveState(state));

    if (settings.rebal_signal === 'stop') {
      // Rebalance::stop: the current source goes back to alive unless the policy says leave it in drain.
      if (!policy.leave_in_drain_mode) await setDeviceState(env, devs.find((d) => d.devid === state.sdev_current), 'drain', 'alive');
      state.time_stopped = nowSec();
      await save();
      await store.setSetting('rebal_signal', '');
      await store.setSetting('rebal_host', '');
      return 'stopped';
    }

    if ((await store.queueDepths()).replicate >= queueMax(settings)) return 'queue full';
    const toInject = positive(settings.queue_rate_for_rebal) ?? DEF_REBAL_QUEUE_INJECT;

    // Rebalance::_find_source_device
    if (!state.sdev_current) {
      const next = state.source_devs.shift();
      if (next === undefined) {
        state.time_finished = nowSec();
        await save();
        await store.setSetting('rebal_host', '');
        return 'finished';
      }
      state.sdev_current = next;
      state.sdev_lastfid = 0;
      if (policy.limit_type === 'device') {
        // Only limit_by=percent needs the device's bytes (a scan of all its file_on rows).
        const bytes = policy.limit_by === 'percent' ? (await store.moves.deviceUsage(next)).bytes : 0;
        state.sdev_limit = startLimit(policy, bytes);
      } else {
        state.sdev_limit = '';
      }
      // Saved before the device is marked drain, so the drain worker never takes it for a plain drain.
      await save();
    }
    const sdev = state.sdev_current;
    const dev = devs.find((d) => d.devid === sdev);
    // A source removed, or marked dead, down or readonly since, is done with (and its state left as it is).
    const usable = dev !== undefined && (dev.status === 'alive' || dev.status === 'drain');
    if (usable) {
      await setDeviceState(env, dev, 'alive', 'drain');
      if (filterDestDevices(policy, state, devs, writableNow).length === 0) {
        env.log.warn({ sdev }, 'rebalance cannot find suitable destination devices; waiting');
        await save();
        return 'no destinations';
      }
    } else {
      env.log.warn({ sdev, status: dev?.status ?? 'gone' }, 'rebalance source device is no longer alive or drain; skipping it');
    }
    const limitKey = policy.limit_type === 'global' ? 'limit' : 'sdev_limit';
    const chunk = usable ? await store.moves.deviceFidChunk(sdev, policy.fid_age, state.sdev_lastfid, toInject) : [];
    if (chunk.length === 0 || !checkLimit(policy, state[limitKey]).ok) {
      finishSourceDevice(state);
      if (!policy.leave_in_drain_mode) await setDeviceState(env, dev, 'drain', 'alive');
      await save();
      return `finished devid ${sdev}`;
    }
    state.sdev_lastfid = chunk[chunk.length - 1]!.fid;
    const picked = new Map<number, number>(); // fid -> length
    for (const f of chunk) {
      const c = checkLimit(policy, state[limitKey], f.length);
      state[limitKey] = c.limit;
      if (c.ok) picked.set(f.fid, f.length);
    }
    const queued = await store.moves.enqueueMoves([...picked.keys()], sdev, MOVE_FLAG, nowSec());
    state.fids_queued += queued.length;
    for (const fid of queued) state.bytes_queued += picked.get(fid) ?? 0;
    await save();
    if (queued.length) env.ctx.wake('replicate');
    return `queued ${queued.length} from devid ${sdev}`;
  });
}

/** Rebalance::init: the source devices as the policy finds them now. */
export function initRebalance(policy: RebalPolicy, devs: DeviceInfo[], now: number): RebalState {
  const s = initialState(now);
  s.source_devs = filterSourceDevices(policy, devs);
  if (policy.limit_type === 'global') s.limit = startLimit(policy, 0);
  return s;
}

function finishSourceDevice(s: RebalState): void {
  s.completed_devs.push(s.sdev_current);
  s.sdev_current = 0;
  s.sdev_lastfid = 0;
  s.sdev_limit = '';
}

/**
 * The rebalance's own change of its source's state, alive -> drain when it
 * starts on it and drain -> alive when done or stopped: a device in any
 * other state is left alone, so one an operator marked dead, down or
 * readonly meanwhile is never brought back (set_state refuses dead -> alive).
 */
async function setDeviceState(env: WorkerEnv, dev: DeviceInfo | undefined, from: 'alive' | 'drain', to: 'alive' | 'drain'): Promise<void> {
  if (!dev || dev.status !== from) return;
  await env.ctx.store.updateDevice(dev.devid, { status: to });
  dev.status = to; // this pass's view too: a source finished in the pass that marked it goes back
  env.ctx.invalidateLayout();
}

/** Drain and rebalance passes now and every intervalMs, or when woken. */
export function startRebalanceWorker(env: WorkerEnv, intervalMs: number): RebalanceWorker {
  const cursors = new Map<number, number>();
  return periodic(intervalMs, async () => {
    try {
      const n = await drainPass(env, cursors);
      if (n) env.log.info({ queued: n }, 'queued files of draining devices');
    } catch (err) {
      env.log.error({ err }, 'drain pass failed; will try again');
    }
    try {
      const what = await rebalancePass(env);
      if (what !== 'idle') env.log.info({ rebalance: what }, 'rebalance pass');
    } catch (err) {
      env.log.error({ err }, 'rebalance pass failed; will try again');
    }
  });
}
