/**
 * mogadm device add|mark|modify|list|summary. Sizes come from the tracker's
 * device rows (mb_total, mb_used, as the monitor last saw them), printed in
 * GiB with the original's columns.
 */
import type { DeviceInfo } from '../../client';
import { byNumber, sprintf } from './format';
import { fetchHosts } from './host';
import { fail, failWith, TEXT } from './session';
import type { Session } from './session';
import type { TopSpec, VerbInput } from './spec';

export async function fetchDevices(s: Session): Promise<DeviceInfo[]> {
  try {
    return await s.admin.getDevices();
  } catch (e) {
    failWith(TEXT.no_devices, e);
  }
}

/** Devices grouped by hostid, each group in devid order. */
export function devicesByHost(devs: DeviceInfo[]): Map<number, DeviceInfo[]> {
  const out = new Map<number, DeviceInfo[]>();
  for (const d of [...devs].sort((a, b) => byNumber(a.devid, b.devid))) {
    const list = out.get(d.hostid) ?? [];
    list.push(d);
    out.set(d.hostid, list);
  }
  return out;
}

function devid(args: VerbInput['args']): number {
  const v = args.devid;
  if (!/^\d+$/.test(v)) fail(`devid should be numeric, got "${v}" (e.g. 5 or dev5)`);
  return Number(v);
}

/** The original prints this before every state change, so operators reading old runbooks notice. */
const DRAIN_NOTE = "***NOTE***: As of server version 2.40 'drain' has changed. See docs/wiki";

async function add(s: Session, { args, opts }: VerbInput): Promise<void> {
  await fetchHosts(s);
  const id = devid(args);
  const state = typeof opts.status === 'string' && opts.status !== '' ? opts.status : 'alive';
  try {
    await s.admin.createDevice({ hostname: args.hostname, devid: id, state });
  } catch (e) {
    failWith('Error adding device', e);
  }
  s.ok('Device added.');
}

async function mark(s: Session, { args }: VerbInput): Promise<void> {
  const id = devid(args);
  s.line(DRAIN_NOTE);
  try {
    await s.admin.setState(args.hostname, id, args.status);
  } catch (e) {
    failWith('Error updating device', e);
  }
  s.ok('Device updated.');
}

async function modify(s: Session, { args, opts }: VerbInput): Promise<void> {
  const id = devid(args);
  s.line(DRAIN_NOTE);
  try {
    // MogileFS::Admin's update_device: a state change, then a weight change.
    if (typeof opts.status === 'string' && opts.status !== '') await s.admin.setState(args.hostname, id, opts.status);
    if (typeof opts.weight === 'number') await s.admin.setWeight(args.hostname, id, opts.weight);
  } catch (e) {
    failWith('Error updating device', e);
  }
  s.ok('Device updated.');
}

async function list(s: Session, { opts }: VerbInput): Promise<void> {
  const hosts = (await fetchHosts(s)).sort((a, b) => byNumber(a.hostid, b.hostid));
  const byHost = devicesByHost(await fetchDevices(s));
  for (const h of hosts) {
    s.line(`${h.hostname} [${h.hostid}]: ${h.status}`);
    s.print(sprintf('%6s  %-10s %7s %7s %7s\n', '', '', 'used(G)', 'free(G)', 'total(G)'));
    for (const d of byHost.get(h.hostid) ?? []) {
      if (d.status === 'dead' && !opts.all) continue;
      const total = d.mb_total / 1024;
      const used = d.mb_used / 1024;
      s.print(sprintf('%6s: %-10s %-7.3f %-7.3f %-7.3f\n', `dev${d.devid}`, d.status, used, total - used, total));
    }
    s.line();
  }
  s.ok();
}

async function summary(s: Session, { opts }: VerbInput): Promise<void> {
  const wanted = new Set(String(opts.status || 'alive,readonly').split(','));
  const hosts = (await fetchHosts(s)).sort((a, b) => byNumber(a.hostid, b.hostid));
  const byHost = devicesByHost(await fetchDevices(s));
  s.print(sprintf('%-15s %6s %7s  %8s %8s %8s %8s\n', 'Hostname', 'HostID', 'Status', 'used(G)', 'free(G)', 'total(G)', '%Used'));
  for (const h of hosts) {
    let total = 0;
    let used = 0;
    for (const d of byHost.get(h.hostid) ?? []) {
      if (!wanted.has(d.status)) continue;
      total += d.mb_total / 1024;
      used += d.mb_used / 1024;
    }
    let row = sprintf('%-15s [%4d]: %6s', h.hostname, h.hostid, h.status);
    row += sprintf('  %8.3f %8.3f %8.3f ', used, total - used, total);
    if (total) row += sprintf('%8.2f', (100 * used) / total);
    s.line(row);
  }
  s.ok();
}

export const deviceCommand: TopSpec = {
  name: 'device',
  des: 'Add/modify devices.',
  verbs: {
    list: {
      des: 'List all devices, for each host.',
      opts: [{ name: 'all', type: 'flag', des: 'Include dead devices in list.' }],
      run: list,
    },
    summary: {
      des: 'List the summary of devices, for each host.',
      opts: [{ name: 'status', type: 'string', des: "Devices of status A. Defaults to 'alive,readonly'" }],
      run: summary,
    },
    add: {
      des: 'Add a device to a host.',
      args: [
        { name: 'hostname', des: 'Hostname to add a device' },
        { name: 'devid', des: 'Numeric devid.  Never reuse these.' },
      ],
      opts: [{ name: 'status', type: 'string', des: "One of 'alive' or 'down'.  Defaults to 'alive'." }],
      run: add,
    },
    mark: {
      des: 'Mark a device as {alive,dead,down,drain,readonly}',
      args: [
        { name: 'hostname', des: 'Hostname of device' },
        { name: 'devid', des: 'Numeric devid to modify.' },
        { name: 'status', des: 'One of {alive,dead,down,drain,readonly}' },
      ],
      run: mark,
    },
    modify: {
      des: "Modify a device's properties.",
      args: [
        { name: 'hostname', des: 'Hostname of device' },
        { name: 'devid', des: 'Numeric devid to modify.' },
      ],
      opts: [
        { name: 'status', type: 'string', des: 'One of {alive,dead,down,drain,readonly}' },
        { name: 'weight', type: 'int', des: 'Positive numeric weight for device' },
      ],
      run: modify,
    },
  },
};
