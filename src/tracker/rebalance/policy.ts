/**
 * The rebalance policy language and state of MogileFS::Rebalance (2.73):
 * `key=value key=value`, a comma making a list. The policy picks source
 * devices (from_*) and destination devices (to_*, not_to_*) and how much
 * to move (limit_type global|device, limit_by none|count|size|percent,
 * limit); the state (server setting rebal_state) records the progress in
 * the same form, so a rebalance continues where it stopped, on any tracker.
 */
import type { DeviceInfo } from '../workers/devices';
import { canDeleteFrom } from '../workers/devices';

export interface RebalPolicy {
  from_all_devs: string;
  from_hosts: number[];
  from_devices: number[];
  from_percent_used: number | null;
  from_percent_free: number | null;
  from_space_used: number | null;
  from_space_free: number | null;
  fid_age: 'old' | 'new';
  limit_type: 'global' | 'device';
  limit_by: 'none' | 'count' | 'size' | 'percent';
  limit: string | null;
  to_all_devs: string;
  to_hosts: number[];
  to_devices: number[];
  to_percent_used: number | null;
  to_percent_free: number | null;
  to_space_used: number | null;
  to_space_free: number | null;
  not_to_hosts: number[];
  not_to_devices: number[];
  use_dest_devs: string;
  leave_in_drain_mode: boolean;
}

export interface RebalState {
  completed_devs: number[];
  source_devs: number[];
  sdev_current: number;
  sdev_lastfid: number;
  /** Left on the current source device: a count, bytes, or 'none'. */
  sdev_limit: string;
  /** Left for the whole run (limit_type=global); ours, the original never set it. */
  limit: string;
  fids_queued: number;
  bytes_queued: number;
  time_started: number;
  time_finished: number;
  time_stopped: number;
}

export class PolicyError extends Error {}

const LIST_KEYS = new Set(['from_hosts', 'from_devices', 'to_hosts', 'to_devices', 'not_to_hosts', 'not_to_devices']);
const NUMBER_KEYS = new Set([
  'from_percent_used', 'from_percent_free', 'from_space_used', 'from_space_free',
  'to_percent_used', 'to_percent_free', 'to_space_used', 'to_space_free',
]);

export function defaultPolicy(): RebalPolicy {
  return {
    from_all_devs: '1', from_hosts: [], from_devices: [], from_percent_used: null, from_percent_free: null,
    from_space_used: null, from_space_free: null, fid_age: 'old', limit_type: 'device', limit_by: 'none', limit: null,
    to_all_devs: '1', to_hosts: [], to_devices: [], to_percent_used: null, to_percent_free: null, to_space_used: null,
    to_space_free: null, not_to_hosts: [], not_to_devices: [], use_dest_devs: 'all', leave_in_drain_mode: false,
  };
}

function tuples(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const t of text.split(/\s+/)) {
    if (t === '') continue;
    const eq = t.indexOf('=');
    out.push(eq < 0 ? [t, ''] : [t.slice(0, eq), t.slice(eq + 1)]);
  }
  return out;
}

/** A list of ids; as in the original (a numeric ==), an entry that is no number matches nothing. */
function ids(v: string): number[] {
  return v.split(',').filter((p) => p !== '').map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
}

/** Parses a policy string; throws PolicyError (the original's croak, reply bad_rebal_pol) for unknown keys or values. */
export function parsePolicy(text: string): RebalPolicy {
  const p = defaultPolicy() as unknown as Record<string, unknown>;
  for (const [key, v] of tuples(text)) {
    if (!(key in p)) throw new PolicyError(`Invalid setting ${key}`);
    if (LIST_KEYS.has(key)) p[key] = ids(v);
    else if (NUMBER_KEYS.has(key)) {
      if (v !== '' && !Number.isFinite(Number(v))) throw new PolicyError(`${key}: "${v}" is not a number`);
      p[key] = v === '' ? null : Number(v);
    } else if (key === 'leave_in_drain_mode') p[key] = v !== '' && v !== '0';
    else p[key] = v === '' ? (key === 'limit' ? null : p[key]) : v;
  }
  const pol = p as unknown as RebalPolicy;
  if (pol.fid_age !== 'old' && pol.fid_age !== 'new') throw new PolicyError(`fid_age must be old or new, not "${pol.fid_age}"`);
  if (pol.limit_type !== 'global' && pol.limit_type !== 'device') throw new PolicyError(`limit_type must be global or device, not "${pol.limit_type}"`);
  if (!['none', 'count', 'size', 'percent'].includes(pol.limit_by)) {
    throw new PolicyError(`limit_by must be none, count, size or percent, not "${pol.limit_by}"`);
  }
  if (pol.limit_by !== 'none') {
    if (pol.limit === null) throw new PolicyError(`limit_by=${pol.limit_by} needs a limit`);
    if (pol.limit_by === 'count' && !/^\d+$/.test(pol.limit)) throw new PolicyError(`limit "${pol.limit}" is not a count`);
    if (pol.limit_by === 'size') humanToBytes(pol.limit);
    if (pol.limit_by === 'percent' && !/^\d+(\.\d+)?%?$/.test(pol.limit)) throw new PolicyError(`limit "${pol.limit}" is not a percentage`);
    // Ours: a share of each source device's bytes, so it needs a device to take the share of.
    if (pol.limit_by === 'percent' && pol.limit_type === 'global') throw new PolicyError('limit_by=percent needs limit_type=device (a share of each source device)');
  }
  if (pol.use_dest_devs !== 'all' && !/^\d+$/.test(pol.use_dest_devs)) throw new PolicyError('use_dest_devs must be all or a number');
  return pol;
}

/** `100g` -> bytes; no suffix means bytes (Rebalance::_human_to_bytes). */
export function humanToBytes(v: string): number {
  const m = /^(\d+)([bkmgtp])?$/i.exec(v);
  if (!m) throw new PolicyError(`Don't know what this number is: ${v}`);
  const unit = (m[2] ?? 'b').toLowerCase();
  return Number(m[1]) * 1024 ** 'bkmgtp'.indexOf(unit);
}

export function initialState(now: number): RebalState {
  return {
    completed_devs: [], source_devs: [], sdev_current: 0, sdev_lastfid: 0, sdev_limit: '', limit: '',
    fids_queued: 0, bytes_queued: 0, time_started: now, time_finished: 0, time_stopped: 0,
  };
}

const STATE_ORDER: Array<keyof RebalState> = [
  'completed_devs', 'source_devs', 'sdev_current', 'sdev_lastfid', 'sdev_limit', 'limit',
  'fids_queued', 'bytes_queued', 'time_started', 'time_finished', 'time_stopped',
];

/** The state as the original saves it: `key=value` pairs, lists comma-joined. */
export function saveState(s: RebalState): string {
  return STATE_ORDER.map((k) => {
    const v = s[k];
    return `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`;
  }).join(' ');
}

export function loadState(text: string): RebalState {
  const s = initialState(0) as unknown as Record<string, unknown>;
  for (const [key, v] of tuples(text)) {
    if (!(key in s)) continue; // tolerate keys of other versions
    if (key === 'completed_devs' || key === 'source_devs') s[key] = v.split(',').filter((x) => /^\d+$/.test(x)).map(Number);
    else if (key === 'sdev_limit' || key === 'limit') s[key] = v;
    else s[key] = Number(v) || 0;
  }
  return s as unknown as RebalState;
}

function percentFull(d: DeviceInfo): number | null {
  if (!d.mbTotal || d.mbUsed === null) return null;
  return (100 * d.mbUsed) / d.mbTotal;
}

function mbFree(d: DeviceInfo): number | null {
  if (!d.mbTotal || d.mbUsed === null) return null;
  return d.mbTotal - d.mbUsed;
}

/**
 * The *_percent_used, *_percent_free, *_space_used, *_space_free tests of
 * both filters (each "more than"; unset or 0 is no test; a device without
 * usage figures fails any test it is given).
 */
function spaceMatches(d: DeviceInfo, percentUsed: number | null, percentFree: number | null, spaceUsed: number | null, spaceFree: number | null): boolean {
  const full = percentFull(d);
  if (percentUsed && (full === null || !(full > percentUsed))) return false;
  if (percentFree && (full === null || !(100 - full > percentFree))) return false;
  if (spaceUsed && !((d.mbUsed ?? 0) > spaceUsed)) return false;
  if (spaceFree && !((mbFree(d) ?? 0) > spaceFree)) return false;
  return true;
}

/** Rebalance::filter_source_devices: devices files may be moved off, in devid order. */
export function filterSourceDevices(p: RebalPolicy, devs: DeviceInfo[]): number[] {
  const out: number[] = [];
  for (const d of [...devs].sort((a, b) => a.devid - b.devid)) {
    if (!canDeleteFrom(d)) continue;
    if (p.from_devices.length && !p.from_devices.includes(d.devid)) continue;
    if (p.from_hosts.length && !p.from_hosts.includes(d.hostid)) continue;
    if (!spaceMatches(d, p.from_percent_used, p.from_percent_free, p.from_space_used, p.from_space_free)) continue;
    out.push(d.devid);
  }
  return out;
}

/**
 * Rebalance::filter_dest_devices: devices that should get new files and
 * match to_* / not_to_*, never a source (current, pending or completed).
 */
export function filterDestDevices(p: RebalPolicy, s: RebalState | null, devs: DeviceInfo[], getsNewFiles: (d: DeviceInfo) => boolean): number[] {
  const skip = new Set<number>(s ? [...s.source_devs, ...s.completed_devs, s.sdev_current] : []);
  const out: number[] = [];
  for (const d of [...devs].sort((a, b) => a.devid - b.devid)) {
    if (skip.has(d.devid) || !getsNewFiles(d)) continue;
    if (p.to_devices.length && !p.to_devices.includes(d.devid)) continue;
    if (p.to_hosts.length && !p.to_hosts.includes(d.hostid)) continue;
    if (p.not_to_devices.includes(d.devid) || p.not_to_hosts.includes(d.hostid)) continue;
    if (!spaceMatches(d, p.to_percent_used, p.to_percent_free, p.to_space_used, p.to_space_free)) continue;
    out.push(d.devid);
  }
  return out;
}

/**
 * The limit to start a source device (or the whole run) with: a count,
 * bytes, or 'none'. limit_by=percent (the original croaks: unimplemented) is
 * ours: that share of the bytes the device holds when its turn comes.
 */
export function startLimit(p: RebalPolicy, deviceBytes: number): string {
  switch (p.limit_by) {
    case 'none':
      return 'none';
    case 'count':
      return String(Number(p.limit));
    case 'size':
      return String(humanToBytes(p.limit ?? '0'));
    case 'percent':
      return String(Math.floor((deviceBytes * Number((p.limit ?? '0').replace('%', ''))) / 100));
  }
}

/**
 * Rebalance::_check_limits. Without a length: is there room left at all
 * (a size limit gives up under 1 KiB)? With one: take it from the limit,
 * or say it does not fit. Returns the new limit and the answer.
 */
export function checkLimit(p: RebalPolicy, limit: string, length?: number): { ok: boolean; limit: string } {
  if (p.limit_by === 'none' || limit === 'none') return { ok: true, limit };
  const left = Number(limit) || 0;
  if (p.limit_by === 'count') {
    if (length === undefined) return { ok: left > 0, limit };
    return { ok: left > 0, limit: String(left - 1) };
  }
  // size, and our percent (a share of bytes)
  if (length === undefined) return { ok: left >= 1024, limit };
  if (length <= left) return { ok: true, limit: String(left - length) };
  return { ok: false, limit };
}
