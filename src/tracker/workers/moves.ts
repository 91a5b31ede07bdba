/**
 * Moving copies off devices, for drain and rebalance, inside a replication
 * job (the replicate worker calls in here; the job's claim keeps any other
 * tracker off the fid meanwhile):
 *
 * - A rebalance job (flags MOVE_FLAG, fromdevid = its source device) is the
 *   original's rebalance_devfid: the source copy is masked from the
 *   policy, new copies go only to the policy's destination devices and only
 *   to "ideal" places (a copy that would worsen the file's spread is not
 *   made: would_worsen), then the source copy is removed.
 * - Any job, once the file's policy is met without them, removes the copies
 *   on devices marked drain: that is how a drain empties its device (the
 *   drain worker queues the device's fids). Drain copies never count toward
 *   the policy (DeviceState should_have_files), so the copies are made first.
 *
 * A copy is removed only when at least mindevcount other readable copies
 * remain (not merely what the policy could manage on a small cluster), and,
 * when this job made no copy, after one of them was seen intact. Removing is
 * the DELETE on the storage node first and then the file_on row, so a
 * device reported empty has nothing left on disk either.
 */
import type { Dispatcher } from 'undici';
import { MOVE_FLAG } from '../../store';
import type { DeviceInfo, DeviceMap } from './devices';
import { canDeleteFrom, canReadFrom, devFidUrl, writableNow } from './devices';
import type { WorkerEnv } from './env';
import { deleteOnNode, describeError, sizeOnNode } from './http';
import { filterDestDevices, loadState, parsePolicy } from '../rebalance/policy';
import { weightedOrder } from './policy';

export interface MovePlan {
  /** Devices whose copies the policy must not count (the rebalance source). */
  mask: Set<number>;
  /** Devices replication may copy to. */
  dests: DeviceMap;
  /** Rebalancing: only ideal destinations, else give up (would_worsen). */
  idealOnly: boolean;
}

/** How a job treats the fid: a plain replication, or a rebalance move off `fromdevid`. */
export async function movePlan(env: WorkerEnv, flags: number, fromdevid: number | null, devs: DeviceMap): Promise<MovePlan> {
  if (!(flags & MOVE_FLAG) || fromdevid === null) return { mask: new Set(), dests: devs, idealOnly: false };
  let dests = devs;
  try {
    const settings = await env.ctx.store.getSettings();
    if (settings.rebal_policy) {
      const policy = parsePolicy(settings.rebal_policy);
      const state = settings.rebal_state ? loadState(settings.rebal_state) : null;
      let ids = filterDestDevices(policy, state, [...devs.values()], writableNow);
      // Rebalance::_choose_dest_devs: use_dest_devs=N, N of them at random for each fid (0, as in the original, is all).
      const n = policy.use_dest_devs === 'all' ? 0 : Number(policy.use_dest_devs);
      if (n > 0) ids = weightedOrder(ids, () => 1).slice(0, n);
      dests = new Map(ids.map((id) => [id, devs.get(id)!]));
    }
  } catch (err) {
    env.log.warn({ err: describeError(err) }, 'rebalance policy unreadable; moving to any device');
  }
  return { mask: new Set([fromdevid]), dests, idealOnly: true };
}

export type MoveOutcome = { done: true; note: string } | { done: false; reason: string } | null;

/**
 * The policy is met without the masked and drain copies: remove those.
 * null when there was nothing to remove.
 */
export async function dropMovedCopies(
  env: WorkerEnv,
  o: { fid: number; length: number; devids: number[]; devs: DeviceMap; plan: MovePlan; min: number; copied: boolean },
): Promise<MoveOutcome> {
  const { fid, devs, plan } = o;
  const on = o.devids.map((id) => devs.get(id)).filter((d): d is DeviceInfo => d !== undefined);
  const leaving = on.filter((d) => plan.mask.has(d.devid) || d.status === 'drain');
  if (leaving.length === 0) return null;
  const keepers = on.filter((d) => !leaving.includes(d) && canReadFrom(d));
  if (keepers.length < Math.max(1, o.min)) {
    return { done: false, reason: `cannot move off devid ${leaving.map((d) => d.devid).join(',')}: only ${keepers.length} other readable copies, mindevcount is ${o.min}` };
  }
  if (!o.copied && !(await someIntact(env.agent, keepers, fid, o.length, env.ctx.config.nodeTimeoutMs))) {
    return { done: false, reason: 'no other copy could be checked intact; not removing any' };
  }
  for (const d of leaving) {
    if (!canDeleteFrom(d) || d.observed?.reachable === false) {
      return { done: false, reason: `devid ${d.devid} cannot be deleted from now (state ${d.status}, host ${d.hostStatus})` };
    }
    const url = devFidUrl(d, fid);
    try {
      if (!(await deleteOnNode(env.agent, url))) return { done: false, reason: `DELETE ${url} failed` };
    } catch (err) {
      return { done: false, reason: `DELETE ${url} failed: ${describeError(err)}` };
    }
    await env.ctx.store.removeFileOn(fid, d.devid);
    env.log.debug({ fid, devid: d.devid, why: plan.mask.has(d.devid) ? 'rebalance' : 'drain' }, 'moved a copy off');
  }
  return { done: true, note: `moved off devid ${leaving.map((d) => d.devid).join(',')}` };
}

async function someIntact(agent: Dispatcher, keepers: DeviceInfo[], fid: number, length: number, timeoutMs: number): Promise<boolean> {
  for (const d of keepers) {
    try {
      if ((await sizeOnNode(agent, devFidUrl(d, fid), timeoutMs)) === length) return true;
    } catch {
      // try the next copy
    }
  }
  return false;
}
