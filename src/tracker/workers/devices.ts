/**
 * One device as the workers see it: its row, its host's row and what our
 * monitor last observed, joined once per job from the cached layout. The
 * predicates follow the original's MogileFS::DeviceState table, so a device
 * marked readonly/drain/down/dead behaves the way an operator expects.
 */
import type { DeviceRow, DeviceStatus, HostRow, HostStatus } from '../../store';
import type { Layout, ObservedDevice } from '../context';
import { fidUrl } from '../../common/fidpath';

export interface DeviceInfo {
  devid: number;
  hostid: number;
  status: DeviceStatus;
  hostStatus: HostStatus;
  hostip: string;
  httpPort: number;
  weight: number | null;
  mbTotal: number | null;
  mbUsed: number | null;
  observed: ObservedDevice | undefined;
}

export type DeviceMap = Map<number, DeviceInfo>;

export function deviceMap(layout: Layout, observed: ReadonlyMap<number, ObservedDevice>): DeviceMap {
  const hosts = new Map<number, HostRow>(layout.hosts.map((h) => [h.hostid, h]));
  const out: DeviceMap = new Map();
  for (const d of layout.devices) {
    const h = hosts.get(d.hostid);
    if (!h) continue; // a device of a deleted host has no address to reach
    out.set(d.devid, joinDevice(d, h, observed.get(d.devid)));
  }
  return out;
}

function joinDevice(d: DeviceRow, h: HostRow, obs: ObservedDevice | undefined): DeviceInfo {
  return {
    devid: d.devid,
    hostid: d.hostid,
    status: d.status,
    hostStatus: h.status,
    hostip: h.hostip,
    httpPort: h.http_port,
    weight: d.weight,
    // Our own fresh observation beats the row, which is written less often.
    mbTotal: obs?.mbTotal ?? d.mb_total,
    mbUsed: obs?.mbUsed ?? d.mb_used,
    observed: obs,
  };
}

/** The device's URL for fid, `http://hostip:port/dev<devid>/b/mmm/ttt/0000000fid.fid`. */
export function devFidUrl(d: DeviceInfo, fid: number): string {
  return fidUrl(d.hostip, d.httpPort, d.devid, fid);
}

/** Base URL of the device's directory, `http://hostip:port/dev<devid>`. */
export function devUrl(d: DeviceInfo): string {
  return `http://${d.hostip}:${d.httpPort}/dev${d.devid}`;
}

/** Copies on this device count toward mindevcount (not drain or dead). */
export function shouldHaveFiles(d: DeviceInfo): boolean {
  return d.status !== 'drain' && d.status !== 'dead';
}

/** By its marked state (not observation) this device takes replicas. */
export function shouldGetReplFiles(d: DeviceInfo): boolean {
  return d.status === 'alive' && d.hostStatus === 'alive';
}

/** A replica may be written here right now: marked alive and seen writable by our monitor. */
export function writableNow(d: DeviceInfo): boolean {
  return shouldGetReplFiles(d) && d.observed?.writable === true && (d.weight === null || d.weight > 0);
}

/**
 * Room for another file: at least minFreeMb free (the original's
 * should_get_new_files), or usage not known yet. A device the monitor last
 * saw nearly full is skipped before a copy to it fails with 507.
 */
export function hasRoom(d: DeviceInfo, minFreeMb: number): boolean {
  if (!d.mbTotal || d.mbTotal <= 0 || d.mbUsed === null) return true;
  return d.mbTotal - d.mbUsed >= minFreeMb;
}

/** A copy may be read from here (marked readable, host not down, not seen unreachable). */
export function canReadFrom(d: DeviceInfo): boolean {
  const marked = d.status === 'alive' || d.status === 'readonly' || d.status === 'drain';
  const host = d.hostStatus === 'alive' || d.hostStatus === 'readonly';
  return marked && host && d.observed?.reachable !== false;
}

/** Files may be removed from here (a draining device must shed its files). */
export function canDeleteFrom(d: DeviceInfo): boolean {
  return (d.status === 'alive' || d.status === 'drain') && d.hostStatus === 'alive';
}

/** Marked dead: its files are gone for good, only the rows remain. */
export function isPermDead(d: DeviceInfo): boolean {
  return d.status === 'dead';
}

/** Should the monitor poll this device (the original skips dead devices). */
export function shouldMonitor(d: DeviceInfo): boolean {
  return d.status !== 'dead' && d.hostStatus !== 'dead';
}

/** Fraction of the device that is free, 0..1; unknown usage counts as half free. */
export function fractionFree(d: DeviceInfo): number {
  if (!d.mbTotal || d.mbTotal <= 0 || d.mbUsed === null) return 0.5;
  return Math.max(0, Math.min(1, (d.mbTotal - d.mbUsed) / d.mbTotal));
}
