/**
 * Host commands: create_host, update_host, delete_host, get_hosts
 * (Query.pm cmd_create_host and friends).
 */
import type { Args } from '../../protocol';
import { isMogError } from '../../protocol';
import type { HostPatch, HostStatus } from '../../store';
import { mogErr } from './errors';
import { int } from './lookup';
import type { CommandEnv, Handler, ReplyArgs } from './types';

/** Host states an operator may set (MogileFS::Host->valid_state). */
const HOST_STATES = new Set(['alive', 'dead', 'down']);

function port(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw mogErr('bad_params', `${what} "${v}" is not a TCP port number (0-65535)`);
  return n;
}

async function modHost(env: CommandEnv, args: Args, update: boolean): Promise<ReplyArgs> {
  const { ctx } = env;
  const hostname = args.host;
  if (!hostname) throw mogErr('no_host');
  ctx.invalidateLayout();
  const layout = await ctx.layout();
  const existing = layout.hosts.find((h) => h.hostname === hostname);
  let status = args.status;
  if (update) {
    if (!existing) throw mogErr('host_not_found');
  } else {
    if (existing) throw mogErr('host_exists');
    if (!args.ip) throw mogErr('no_ip');
    if (!args.port || args.port === '0') throw mogErr('no_port');
    status = status || 'down';
  }
  if (status && !HOST_STATES.has(status)) throw mogErr('unknown_state');

  // Only the fields the client sent are changed ('exists $args->{...}').
  const patch: HostPatch = {};
  if (status) patch.status = status as HostStatus;
  if (args.ip !== undefined) patch.hostip = args.ip;
  if (args.port !== undefined) patch.http_port = port(args.port, 'port');
  if (args.getport !== undefined) patch.http_get_port = args.getport === '' ? null : port(args.getport, 'getport');
  if (args.altip !== undefined) patch.altip = args.altip === '' ? null : args.altip;
  if (args.altmask !== undefined) patch.altmask = args.altmask === '' ? null : args.altmask;

  let hostid: number;
  try {
    if (existing) {
      hostid = existing.hostid;
      await ctx.store.updateHost(hostid, patch);
    } else {
      const row = await ctx.store.createHost({
        hostname,
        hostip: patch.hostip as string,
        status: patch.status ?? 'down',
        http_port: patch.http_port ?? 7500,
        http_get_port: patch.http_get_port ?? null,
        altip: patch.altip ?? null,
        altmask: patch.altmask ?? null,
      });
      hostid = row.hostid;
    }
  } catch (err) {
    if (isMogError(err, 'host_exists')) throw mogErr('host_exists');
    // The original reports a duplicate IP as its generic `dup` error.
    if (isMogError(err, 'ip_exists') || isMogError(err, 'dup')) throw mogErr('dup');
    throw err;
  } finally {
    ctx.invalidateLayout();
  }
  // The original replies hostid and hostname; MogileFS::Admin checks `host`,
  // so it is sent as well.
  return { hostid, hostname, host: hostname };
}

export const create_host: Handler = (env, args) => modHost(env, args, false);
export const update_host: Handler = (env, args) => modHost(env, args, true);

export const delete_host: Handler = async ({ ctx }, args) => {
  ctx.invalidateLayout();
  const layout = await ctx.layout();
  const host = layout.hosts.find((h) => h.hostname === args.host);
  if (!host) throw mogErr('unknown_host');
  if (layout.devices.some((d) => d.hostid === host.hostid)) throw mogErr('host_not_empty');
  await ctx.store.deleteHost(host.hostid);
  ctx.invalidateLayout();
  return {};
};

export const get_hosts: Handler = async ({ ctx }, args) => {
  ctx.invalidateLayout();
  const layout = await ctx.layout();
  const only = args.hostid !== undefined ? int(args.hostid) : undefined;
  const ret: ReplyArgs = { hosts: 0 };
  let n = 0;
  for (const h of [...layout.hosts].sort((a, b) => a.hostid - b.hostid)) {
    if (only !== undefined && h.hostid !== only) continue;
    n++;
    ret[`host${n}_hostid`] = h.hostid;
    ret[`host${n}_status`] = h.status;
    ret[`host${n}_hostname`] = h.hostname;
    ret[`host${n}_hostip`] = h.hostip;
    ret[`host${n}_http_port`] = h.http_port;
    ret[`host${n}_http_get_port`] = h.http_get_port;
    ret[`host${n}_altip`] = h.altip;
    ret[`host${n}_altmask`] = h.altmask;
  }
  ret.hosts = n;
  return ret;
};
