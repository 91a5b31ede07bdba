/**
 * The MultipleHosts replication policy (MogileFS::ReplicationPolicy::
 * MultipleHosts): a file wants mindevcount copies on as many distinct hosts as
 * the cluster has; a second copy on an already-used host is only a
 * "desperate" choice when no other host can take it.
 */
import type { ClassRow } from '../../store';
import type { Layout } from '../context';
import { IMPLICIT_DEFAULT_MINDEVCOUNT } from '../layout';
import type { DeviceInfo, DeviceMap } from './devices';
import { fractionFree, hasRoom, shouldGetReplFiles, shouldHaveFiles, writableNow } from './devices';

export type PolicyAnswer =
  | { kind: 'all_good' }
  | { kind: 'too_good' }
  /** Not happy, and no device can take a copy right now. */
  | { kind: 'no_answer' }
  | { kind: 'copy'; ideal: DeviceInfo[]; desperate: DeviceInfo[] };

/**
 * The copy count a class asks for: `MultipleHosts(N)` in replpolicy overrides
 * the class mindevcount; blank, `MultipleHosts()` or any policy we do not
 * implement falls back to mindevcount.
 */
export function policyMin(replpolicy: string | null, mindevcount: number): number {
  const m = /^\s*MultipleHosts\s*\(\s*(\d*)\s*\)\s*$/.exec(replpolicy ?? '');
  const n = m && m[1] ? Number(m[1]) : 0;
  return n > 0 ? n : mindevcount;
}

/**
 * The copies a file of (dmid, classid) must have: its class's row, else the
 * domain's implicit default class (the `default_mindevcount` setting, else 2).
 */
export function classMin(layout: Layout, dmid: number, classid: number): { cls: ClassRow | undefined; min: number } {
  const cls = layout.classes.find((c) => c.dmid === dmid && c.classid === classid);
  return { cls, min: policyMin(cls?.replpolicy ?? null, cls?.mindevcount ?? layout.defaultMindevcount ?? IMPLICIT_DEFAULT_MINDEVCOUNT) };
}

export interface PolicyInput {
  /** Devices that hold the file and count toward the policy (shouldHaveFiles). */
  onDevs: DeviceInfo[];
  all: DeviceMap;
  /** Destinations we failed to copy to in this pass. */
  failed: ReadonlySet<number>;
  min: number;
  /** Devices with less free space take no copy, MB (min_free_space; default 0). */
  minFreeMb?: number;
}

export function replicateTo(p: PolicyInput): PolicyAnswer {
  const { onDevs, all, failed, min } = p;
  const alreadyOn = onDevs.length;
  if (min <= 1 && alreadyOn > 0) return { kind: 'all_good' };

  let totalDisks = 0;
  for (const d of all.values()) if (shouldHaveFiles(d)) totalDisks++;
  // Every disk there is already holds a copy: be content, fsck fixes it later.
  if (alreadyOn >= 2 && alreadyOn === totalDisks) return { kind: 'all_good' };

  const onDev = new Set(onDevs.map((d) => d.devid));
  const onHost = new Set(onDevs.map((d) => d.hostid));
  const uniqHostsOn = onHost.size;
  const totalUniqHosts = new Set([...all.values()].filter(shouldGetReplFiles).map((d) => d.hostid)).size;

  if (uniqHostsOn > min) return { kind: 'too_good' };
  if (uniqHostsOn === min && alreadyOn > min) return { kind: 'too_good' };
  if (uniqHostsOn === min) return { kind: 'all_good' };
  if (uniqHostsOn >= totalUniqHosts && alreadyOn >= min) return { kind: 'all_good' };

  // While hosts without a copy exist, hosts with one are only a last resort.
  const skipHost = uniqHostsOn < totalUniqHosts ? onHost : new Set<number>();
  const room = (d: DeviceInfo): boolean => hasRoom(d, p.minFreeMb ?? 0);
  const candidates = [...all.values()].filter((d) => !onDev.has(d.devid) && !failed.has(d.devid) && writableNow(d) && room(d));
  if (candidates.length === 0) return { kind: 'no_answer' };
  const ordered = weightedOrder(candidates, deviceWeight);
  return {
    kind: 'copy',
    ideal: ordered.filter((d) => !skipHost.has(d.hostid)),
    desperate: ordered.filter((d) => skipHost.has(d.hostid)),
  };
}

/** Free space times the operator's weight (default 100), never quite zero so full disks come last. */
export function deviceWeight(d: DeviceInfo): number {
  const w = d.weight ?? 100;
  return Math.max(1e-6, 100 * fractionFree(d) * (w / 100));
}

/**
 * A random order in which heavier items tend to come first (weighted sampling
 * without replacement, by sorting on u^(1/w)), so parallel replicators and
 * several trackers spread their copies instead of all hitting the emptiest disk.
 */
export function weightedOrder<T>(items: T[], weight: (t: T) => number): T[] {
  return items
    .map((t) => ({ t, k: Math.pow(Math.random(), 1 / weight(t)) }))
    .sort((a, b) => b.k - a.k)
    .map((x) => x.t);
}
