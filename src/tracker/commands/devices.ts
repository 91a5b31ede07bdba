/**
 * Device commands: create_device, get_devices, set_state, set_weight
 * (Query.pm). State changes follow MogileFS::DeviceState: any known state may
 * be set except dead -> alive (state_too_high), since a dead device's files
 * are already being re-replicated elsewhere.
 */
import { isMogError } from '../../protocol';
import type { DeviceStatus } from '../../store';
import type { ObservedDevice } from '../context';
import { mogErr } from './errors';
import { freshUtilization } from '../workers/iostat';
import { int, num } from './lookup';
import type { Handler, ReplyArgs } from './types';

export const DEVICE_STATES = new Set<string>(['alive', 'dead', 'down', 'readonly', 'drain']);

/** The original's observed_state words for what our monitor saw. */
export function observedState(o: ObservedDevice | undefined): string | null {
  if (!o) return null;
  if (o.writable) return 'writeable';
  if (o.reachable) return 'readable';
  return 'unreachable';
}

export const create_device: Handler = async ({ ctx }, args) => {
  const status = args.state || 'alive';
  if (!DEVICE_STATES.has(status)) throw mogErr('invalid_state');
  const devidArg = args.devid;
  if (!devidArg || !/^\d+$/.test(devidArg) || Number(devidArg) === 0) throw mogErr('invalid_devid');
  const devid = Number(devidArg);

  ctx.invalidateLayout();
  const layout = await ctx.layout();
  let hostid: number;
  if (args.hostid && /^\d+$/.test(args.hostid)) {
    const host = layout.hosts.find((h) => h.hostid === Number(args.hostid));
    if (!host) throw mogErr('unknown_hostid');
    hostid = host.hostid;
  } else if (args.hostname) {
    const host = layout.hosts.find((h) => h.hostname === args.hostname);
    if (!host) throw mogErr('unknown_host');
    hostid = host.hostid;
  } else {
    throw mogErr('bad_args', 'No hostid/hostname parameter');
  }
  try {
    await ctx.store.createDevice({ devid, hostid, status: status as DeviceStatus });
  } catch (err) {
    if (isMogError(err) && ['existing_devid', 'dev_exists', 'dup'].includes(err.code)) throw mogErr('existing_devid');
    throw err;
  } finally {
    ctx.invalidateLayout();
  }
  ctx.wake('monitor');
  return {};
};

export const get_devices: Handler = async ({ ctx }, args) => {
  ctx.invalidateLayout();
  const layout = await ctx.layout();
  const only = args.devid !== undefined ? int(args.devid) : undefined;
  const ret: ReplyArgs = { devices: 0 };
  let n = 0;
  for (const d of [...layout.devices].sort((a, b) => a.devid - b.devid)) {
    if (only !== undefined && d.devid !== only) continue;
    n++;
    const o = ctx.observed.get(d.devid);
    const total = d.mb_total ?? o?.mbTotal ?? null;
    const used = d.mb_used ?? o?.mbUsed ?? null;
    const p = `dev${n}_`;
    ret[p + 'devid'] = d.devid;
    ret[p + 'hostid'] = d.hostid;
    ret[p + 'status'] = d.status;
    ret[p + 'weight'] = d.weight;
    ret[p + 'observed_state'] = observedState(o);
    ret[p + 'mb_total'] = total;
    ret[p + 'mb_used'] = used;
    ret[p + 'mb_asof'] = d.mb_asof ?? o?.asof ?? null;
    ret[p + 'mb_free'] = total !== null && used !== null ? total - used : null;
    ret[p + 'utilization'] = freshUtilization(ctx.utilization, d.devid);
    ret[p + 'reject_bad_md5'] = null;
  }
  ret.devices = n;
  return ret;
};

async function deviceOnHost(ctx: Parameters<Handler>[0]['ctx'], devid: number, hostname: string) {
  ctx.invalidateLayout();
  const layout = await ctx.layout();
  const dev = layout.devices.find((d) => d.devid === devid);
  if (!dev) throw mogErr('no_device');
  const host = layout.hosts.find((h) => h.hostid === dev.hostid);
  if (!host || host.hostname !== hostname) throw mogErr('host_mismatch');
  return dev;
}

export const set_state: Handler = async ({ ctx }, args) => {
  const hostname = args.host;
  const devid = Math.trunc(num(args.device));
  const state = args.state ?? '';
  if (!hostname || !devid || !DEVICE_STATES.has(state)) throw mogErr('bad_params');
  const dev = await deviceOnHost(ctx, devid, hostname);
  if (dev.status === 'dead' && state === 'alive') throw mogErr('state_too_high');
  await ctx.store.updateDevice(devid, { status: state as DeviceStatus });
  ctx.invalidateLayout();
  // A device that stops holding files (dead, drain) has copies to make;
  // a dead one's files are found and queued by the dead-device reaper.
  ctx.wake('monitor');
  if (state === 'dead') ctx.wake('reaper');
  if (state === 'dead') ctx.wake('replicate');
  // A drain empties the device: the rebalance worker queues its files (workers/rebalance.ts).
  if (state === 'drain') ctx.wake('rebalance');
  return {};
};

export const set_weight: Handler = async ({ ctx }, args) => {
  const hostname = args.host;
  const devid = Math.trunc(num(args.device));
  const weight = Math.trunc(num(args.weight));
  if (!hostname || !devid || !(weight >= 0)) throw mogErr('bad_params');
  await deviceOnHost(ctx, devid, hostname);
  await ctx.store.updateDevice(devid, { weight });
  ctx.invalidateLayout();
  return {};
};
