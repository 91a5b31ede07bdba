/**
 * mogadm stats: files per device, domain and class, and how many copies
 * files have, in the layout of the original's `mogadm stats`. The numbers
 * come from the tracker's `stats` command (older MogileFS trackers have it);
 * from a tracker without it they are counted from list_fids, which gives
 * everything but the per-device file counts.
 */
import { MogError } from '../../client';
import type { Args } from '../../protocol';
import { byNumber, byString, sprintf } from './format';
import { failWith } from './session';
import type { Session } from './session';

interface Stats {
  devices: Map<number, { host: string; status: string; files: string }>;
  fidmax: string;
  /** domain -> class -> files */
  files: Map<string, Map<string, number>>;
  /** domain -> class -> devcount -> files */
  replication: Map<string, Map<string, Map<number, number>>>;
}

function sub<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

function fromReply(r: Args): Stats {
  const st: Stats = { devices: new Map(), fidmax: r.fidmax ?? '', files: new Map(), replication: new Map() };
  for (let i = 1; i <= Number(r.devicescount ?? 0); i++) {
    st.devices.set(Number(r[`devices${i}id`]), { host: r[`devices${i}host`] ?? '', status: r[`devices${i}status`] ?? '', files: r[`devices${i}files`] ?? '' });
  }
  for (let i = 1; i <= Number(r.filescount ?? 0); i++) {
    sub(st.files, r[`files${i}domain`] ?? '', () => new Map()).set(r[`files${i}class`] ?? '', Number(r[`files${i}files`] ?? 0));
  }
  for (let i = 1; i <= Number(r.replicationcount ?? 0); i++) {
    const classes = sub(st.replication, r[`replication${i}domain`] ?? '', () => new Map<string, Map<number, number>>());
    sub(classes, r[`replication${i}class`] ?? '', () => new Map()).set(Number(r[`replication${i}devcount`] ?? 0), Number(r[`replication${i}files`] ?? 0));
  }
  return st;
}

/** The same numbers from get_hosts, get_devices and a walk over list_fids. */
async function counted(s: Session): Promise<Stats> {
  const st: Stats = { devices: new Map(), fidmax: '', files: new Map(), replication: new Map() };
  const hosts = new Map((await s.admin.getHosts()).map((h) => [h.hostid, h.hostname]));
  for (const d of await s.admin.getDevices()) {
    st.devices.set(d.devid, { host: hosts.get(d.hostid) ?? '', status: d.status, files: '-' });
  }
  let from = 0;
  for (;;) {
    const page = await s.admin.listFids(from, 500);
    if (page.length === 0) break;
    for (const f of page) {
      const classes = sub(st.files, f.domain, () => new Map<string, number>());
      classes.set(f.class, (classes.get(f.class) ?? 0) + 1);
      const rep = sub(sub(st.replication, f.domain, () => new Map<string, Map<number, number>>()), f.class, () => new Map<number, number>());
      rep.set(f.devcount, (rep.get(f.devcount) ?? 0) + 1);
      from = Math.max(from, f.fid);
    }
  }
  st.fidmax = from > 0 ? String(from) : '';
  return st;
}

async function fetchStats(s: Session): Promise<Stats> {
  try {
    return fromReply(await s.admin.tracker.call('stats', { all: 1 }));
  } catch (e) {
    if (!(e instanceof MogError && e.code === 'unknown_command')) failWith(`Can't fetch stats`, e);
  }
  try {
    return await counted(s);
  } catch (e) {
    failWith(`Can't fetch stats`, e);
  }
}

export async function stats(s: Session): Promise<void> {
  s.line('Fetching statistics...');
  const st = await fetchStats(s);

  s.line();
  s.line('Statistics for devices...');
  s.print(sprintf('  %-10s %-10s %10s %10s\n', 'device', 'host', 'files', 'status'));
  s.line('  ---------- ----------- ---------- ----------');
  for (const id of [...st.devices.keys()].sort(byNumber)) {
    const d = st.devices.get(id)!;
    s.print(sprintf('  %-10s %-10s %10s %10s\n', `dev${id}`, d.host, d.files, d.status));
  }
  s.line('  ---------- ----------- ---------- ----------');

  s.line();
  s.line('Statistics for file ids...');
  s.line(`  Max file id: ${st.fidmax}`);

  s.line();
  s.line('Statistics for files...');
  s.print(sprintf('  %-20s %-10s %10s\n', 'domain', 'class', 'files'));
  s.line('  -------------------- ----------- ----------');
  for (const dom of [...st.files.keys()].sort(byString)) {
    const classes = st.files.get(dom)!;
    for (const cls of [...classes.keys()].sort(byString)) s.print(sprintf('  %-20s %-10s %10s\n', dom, cls, classes.get(cls)));
  }
  s.line('  -------------------- ----------- ----------');

  s.line();
  s.line('Statistics for replication...');
  s.print(sprintf('  %-20s %-10s %10s %10s\n', 'domain', 'class', 'devcount', 'files'));
  s.line('  -------------------- ----------- ---------- ----------');
  for (const dom of [...st.replication.keys()].sort(byString)) {
    const classes = st.replication.get(dom)!;
    for (const cls of [...classes.keys()].sort(byString)) {
      const counts = classes.get(cls)!;
      for (const dc of [...counts.keys()].sort(byNumber)) s.print(sprintf('  %-20s %-10s %10s %10s\n', dom, cls, dc, counts.get(dc)));
    }
  }
  s.line('  -------------------- ----------- ---------- ----------');
  s.ok();
}
