/**
 * Device choice for the tracker's commands: where create_open puts a new
 * file (Query.pm sort_devs_by_freespace) and in which order get_paths offers
 * the copies (sort_devs_by_utilization). Both are weighted random orders, so
 * load spreads over devices instead of piling onto the emptiest one.
 */
import type { Layout, ObservedDevice } from './context';
import type { DeviceWithHost } from './commands/lookup';
import { freshUtilization, type UtilizationMap } from './workers/iostat';

/** How many of the emptiest devices create_open chooses among (the original: 20). */
const FREESPACE_CANDIDATES = 20;

/** Items in a random order where each comes earlier the larger its weight (MogileFS::Util::weighted_list). */
export function weightedOrder<T>(items: Array<[T, number]>, random: () => number = Math.random): T[] {
  const pool = items.map(([item, w]) => ({ item, w: Number.isFinite(w) && w > 0 ? w : 0 }));
  const out: T[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((s, p) => s + p.w, 0);
    let idx = 0;
    if (total > 0) {
      let r = random() * total;
      idx = pool.findIndex((p) => (r -= p.w) < 0);
      if (idx < 0) idx = pool.length - 1;
    } else {
      idx = Math.floor(random() * pool.length);
    }
    out.push(pool[idx].item);
    pool.splice(idx, 1);
  }
  return out;
}

function freeSpace(dh: DeviceWithHost, o: ObservedDevice | undefined): { total: number; used: number } | null {
  const total = o?.mbTotal ?? dh.device.mb_total;
  const used = o?.mbUsed ?? dh.device.mb_used;
  if (total === null || total === undefined || total <= 0 || used === null || used === undefined) return null;
  return { total, used };
}

/**
 * Devices that should get new files (Device->should_get_new_files): marked
 * alive on an alive host, seen writable by our monitor (a device the monitor
 * has not seen yet is given the benefit of the doubt), and with at least
 * minFreeMb free (the tracker's min_free_space).
 */
export function newFileCandidates(
  layout: Layout,
  observed: ReadonlyMap<number, ObservedDevice>,
  minFreeMb: number,
): Array<[DeviceWithHost, number]> {
  const hosts = new Map(layout.hosts.map((h) => [h.hostid, h]));
  const out: Array<[DeviceWithHost, number]> = [];
  for (const device of layout.devices) {
    const host = hosts.get(device.hostid);
    if (!host || device.status !== 'alive' || host.status !== 'alive') continue;
    const o = observed.get(device.devid);
    if (o && !o.writable) continue;
    const dh = { device, host };
    const space = freeSpace(dh, o);
    let weight = 50; // unknown free space: an average candidate
    if (space) {
      const freeMb = space.total - space.used;
      if (freeMb < minFreeMb) continue;
      weight = (100 * freeMb) / space.total;
    }
    out.push([dh, weight]);
  }
  return out;
}

/**
 * Up to `count` destinations for a new file, never two on one host, chosen
 * among the emptiest devices with a free-space-weighted random order.
 */
export function pickDestinations(candidates: Array<[DeviceWithHost, number]>, count: number, random: () => number = Math.random): DeviceWithHost[] {
  const top = [...candidates].sort((a, b) => b[1] - a[1]).slice(0, FREESPACE_CANDIDATES);
  const dests: DeviceWithHost[] = [];
  for (const dh of weightedOrder(top, random)) {
    if (dests.length >= count) break;
    if (dests.some((d) => d.host.hostid === dh.host.hostid)) continue;
    dests.push(dh);
  }
  return dests;
}

/** Device states a file may be read from (DeviceState can_read_from). */
const READABLE = new Set(['alive', 'readonly', 'drain']);

export interface ReadCandidate {
  dh: DeviceWithHost;
  /** Our monitor saw the device (or its host) unreachable: offered only as a last resort. */
  down: boolean;
}

/**
 * A copy's weight in get_paths' order (sort_devs_by_utilization): 102 minus
 * the device's I/O utilization when its node reports one, else the device's
 * weight; 100 when either comes to nothing.
 */
function readWeight(device: DeviceWithHost['device'], util: UtilizationMap | undefined): number {
  const u = freshUtilization(util, device.devid);
  return (u !== null ? Math.round(102 - u) : device.weight) || 100;
}

/**
 * The devices holding a fid that a client may read from, in weighted random
 * order (weight: the less busy the device, the earlier; see readWeight),
 * reachable ones first.
 */
export function readCandidates(
  layout: Layout, observed: ReadonlyMap<number, ObservedDevice>, devids: number[],
  random: () => number = Math.random, util?: UtilizationMap,
): ReadCandidate[] {
  const hosts = new Map(layout.hosts.map((h) => [h.hostid, h]));
  const weighted: Array<[DeviceWithHost, number]> = [];
  for (const devid of devids) {
    const device = layout.devices.find((d) => d.devid === devid);
    if (!device || !READABLE.has(device.status)) continue;
    const host = hosts.get(device.hostid);
    if (!host || host.status !== 'alive') continue;
    weighted.push([{ device, host }, readWeight(device, util)]);
  }
  const ordered = weightedOrder(weighted, random).map((dh) => {
    const o = observed.get(dh.device.devid);
    return { dh, down: o !== undefined && !o.reachable };
  });
  return [...ordered.filter((c) => !c.down), ...ordered.filter((c) => c.down)];
}
