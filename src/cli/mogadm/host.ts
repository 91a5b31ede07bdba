/**
 * mogadm host add|modify|mark|delete|list: storage hosts as the tracker
 * knows them. Defaults are the original's: port 7500, status down, and the
 * IP looked up from the hostname when --ip is not given.
 */
import { lookup } from 'node:dns/promises';
import type { HostInfo, HostOptions } from '../../client';
import { byNumber, sprintf } from './format';
import { fail, failWith, TEXT } from './session';
import type { Session } from './session';
import type { OptSpec, TopSpec, VerbInput } from './spec';

export async function fetchHosts(s: Session): Promise<HostInfo[]> {
  try {
    return await s.admin.getHosts();
  } catch (e) {
    failWith(TEXT.no_hosts, e);
  }
}

const HOST_OPTS: OptSpec[] = [
  { name: 'status', type: 'string', des: 'One of {alive,down}.' },
  { name: 'ip', type: 'string', des: 'IP address of machine.' },
  { name: 'port', type: 'int', des: 'HTTP port of mogstored' },
  { name: 'getport', type: 'int', des: 'Alternate HTTP port serving readonly traffic' },
  { name: 'altip', type: 'string', des: 'Alternate IP that is machine is reachable from' },
  { name: 'altmask', type: 'string', des: 'Netmask which, when matches client, uses alt IP' },
];

function hostOptions(o: VerbInput['opts']): HostOptions {
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const int = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  return {
    status: str(o.status),
    ip: str(o.ip),
    port: int(o.port),
    getport: int(o.getport),
    altip: str(o.altip),
    altmask: str(o.altmask),
  };
}

async function list(s: Session): Promise<void> {
  const hosts = (await fetchHosts(s)).sort((a, b) => byNumber(a.hostid, b.hostid));
  for (const h of hosts) {
    s.line(`${h.hostname} [${h.hostid}]: ${h.status}`);
    const rows: [string, string | number | null][] = [
      ['IP', `${h.hostip}:${h.http_port}`],
      ['Alt IP', h.altip],
      ['Alt Mask', h.altmask],
      ['GET Port', h.http_get_port],
    ];
    for (const [k, v] of rows) if (v) s.print(sprintf('  %-10s%s\n', `${k}:`, v));
    s.line();
  }
  s.ok();
}

async function add(s: Session, { args, opts }: VerbInput): Promise<void> {
  const name = args.hostname;
  const hosts = await fetchHosts(s);
  if (hosts.some((h) => h.hostname === name)) fail('Host already exists.');
  const o = hostOptions(opts);
  if (!o.ip) {
    try {
      o.ip = (await lookup(name, { family: 4 })).address;
    } catch {
      fail(TEXT.host_add_no_ip);
    }
  }
  try {
    await s.admin.createHost(name, { ...o, ip: o.ip, port: o.port || 7500, status: o.status || 'down' });
  } catch (e) {
    failWith('Failure creating host', e);
  }
  s.ok('Host has been created.');
}

async function modify(s: Session, { args, opts }: VerbInput): Promise<void> {
  try {
    await s.admin.updateHost(args.hostname, hostOptions(opts));
  } catch (e) {
    failWith('Failure modifying host', e);
  }
  s.ok('Host has been modified.');
}

async function mark(s: Session, { args }: VerbInput): Promise<void> {
  try {
    await s.admin.updateHost(args.hostname, { status: args.status });
  } catch (e) {
    failWith('Failure updating host status', e);
  }
  s.ok('Host status updated.');
}

async function remove(s: Session, { args }: VerbInput): Promise<void> {
  try {
    await s.admin.deleteHost(args.hostname);
  } catch (e) {
    failWith('Failure deleting host', e);
  }
  s.ok('Host has been deleted.');
}

export const hostCommand: TopSpec = {
  name: 'host',
  des: 'Add/modify hosts.',
  verbs: {
    list: { des: 'List all hosts.', run: list },
    add: {
      des: 'Add a host to MogileFS.',
      args: [{ name: 'hostname', des: 'Hostname of machine' }],
      opts: HOST_OPTS.map((o) => (o.name === 'status' ? { ...o, des: "One of {alive,down}.  Default 'down'." } : o)),
      run: add,
    },
    modify: {
      des: "Modify a host's properties.",
      args: [{ name: 'hostname', des: 'Host name.' }],
      opts: HOST_OPTS,
      run: modify,
    },
    mark: {
      des: "Change the status of a host.  (equivalent to 'modify --status')",
      args: [
        { name: 'hostname', des: 'Host name to bring up or down.' },
        { name: 'status', des: 'One of {alive,down}.' },
      ],
      run: mark,
    },
    delete: {
      des: 'Delete a host.',
      args: [{ name: 'hostname', des: 'Host name to delete.' }],
      run: remove,
    },
  },
};
