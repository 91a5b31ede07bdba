/**
 * mogadm check: can we reach every tracker, every alive host's storage node,
 * and read each device's usage file — the quickest "is the cluster well"
 * from this machine's point of view, in the original's layout.
 */
import { Agent, request } from 'undici';
import type { DeviceInfo, HostInfo } from '../../client';
import { devicesByHost } from './device';
import { byNumber, sprintf } from './format';
import { fail, TEXT } from './session';
import type { Session } from './session';

/** Seconds a storage node gets to answer one check request. */
const HTTP_TIMEOUT_MS = 5000;

async function httpGet(agent: Agent, url: string): Promise<{ status: number; body: string } | null> {
  try {
    const res = await request(url, { dispatcher: agent, method: 'GET' });
    const body = await res.body.text();
    return { status: res.statusCode, body };
  } catch {
    return null;
  }
}

interface Usage {
  total: number;
  used: number;
  avail: number;
  pct: number;
}

/** A `dev<N>/usage` file (KiB values, `key: value` lines) in GiB, or a reason it is unusable. */
export function parseUsage(text: string): Usage | string {
  if (text.length < 1) return 'USAGE FILE BROKEN OR EMPTY';
  const data: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([^:]+):\s+(.*)$/.exec(line);
    if (m) data[m[1]] = m[2];
  }
  for (const f of ['available', 'device', 'disk']) {
    if (!data[f]) return `MISSING FIELD (${f}) FROM USAGE FILE`;
  }
  const num = (k: string): number => (/^\d+(\.\d+)?$/.test(data[k] ?? '') ? Number(data[k]) : 0);
  const gib = 1024 ** 2;
  const total = num('total') / gib;
  const avail = num('available') / gib;
  return { total, used: num('used') / gib, avail, pct: total ? 100 - (avail / total) * 100 : 0 };
}

export async function check(s: Session): Promise<void> {
  let hosts: HostInfo[] | null = null;
  let devices: DeviceInfo[] | null = null;
  s.line('Checking trackers...');
  for (const t of s.trackers) {
    s.print(`  ${t} ... `);
    let admin;
    try {
      admin = s.adminFor([t]);
    } catch {
      s.line('INITIAL FAILURE (bad configuration?)');
      continue;
    }
    try {
      const [h, d] = await Promise.all([admin.getHosts(), admin.getDevices()]);
      s.line('OK');
      hosts = h;
      devices = d;
    } catch {
      s.line('REQUEST FAILURE (is the tracker up?)');
    }
  }
  if (!hosts || !devices) fail(TEXT.no_hosts);
  s.line();

  const agent = new Agent({ connect: { timeout: HTTP_TIMEOUT_MS }, headersTimeout: HTTP_TIMEOUT_MS, bodyTimeout: HTTP_TIMEOUT_MS });
  try {
    s.line('Checking hosts...');
    const reachable: { host: HostInfo; url: string }[] = [];
    for (const h of [...hosts].sort((a, b) => byNumber(a.hostid, b.hostid))) {
      s.print(sprintf('  [%2d] %s ... ', h.hostid, h.hostname));
      if (h.status !== 'alive') {
        s.line(`skipping; status = ${h.status}`);
        continue;
      }
      const url = `http://${h.hostip}:${h.http_port}/`;
      // Any HTTP answer shows mogstored is up; its root is not a file, so the status code says nothing.
      if (await httpGet(agent, url)) {
        s.line('OK');
        reachable.push({ host: h, url });
      } else {
        s.line(`REQUEST FAILURE FETCHING: ${url}`);
      }
    }
    if (reachable.length === 0) fail(TEXT.no_devices);
    s.line();

    s.line('Checking devices...');
    s.print(sprintf('  host device      %10s %10s %10s %7s  %7s   %4s\n', 'size(G)', 'used(G)', 'free(G)', 'use% ', 'ob state', 'I/O%'));
    s.line('  ---- ------------ ---------- ---------- ---------- ------ ---------- -----');
    const byHost = devicesByHost(devices);
    const total = { total: 0, used: 0, avail: 0 };
    for (const { host, url } of reachable) {
      for (const d of byHost.get(host.hostid) ?? []) {
        if ((d.status || '??') === 'dead') continue;
        s.print(sprintf('  [%2d] %-7s', host.hostid, `dev${d.devid}`));
        const usageUrl = `${url}dev${d.devid}/usage`;
        const res = await httpGet(agent, usageUrl);
        if (!res || res.status < 200 || res.status > 299) {
          s.line(`REQUEST FAILURE FETCHING: ${usageUrl}`);
          continue;
        }
        const u = parseUsage(res.body);
        if (typeof u === 'string') {
          s.line(`${u}: ${usageUrl}`);
          continue;
        }
        total.total += u.total;
        total.used += u.used;
        total.avail += u.avail;
        const util = d.utilization === null ? 'N/A' : d.utilization.toFixed(1);
        s.print(sprintf('     %10.3f %10.3f %10.3f %6.2f%%  %-7s %5s\n', u.total, u.used, u.avail, u.pct, d.observed_state || '?', util));
      }
    }
    const pct = total.total > 0 ? 100 - (total.avail / total.total) * 100 : 0;
    s.line('  ---- ------------ ---------- ---------- ---------- ------');
    s.print(sprintf('             total:%10.3f %10.3f %10.3f %6.2f%%\n', total.total, total.used, total.avail, pct));
  } finally {
    await agent.close();
  }
  s.ok();
}
