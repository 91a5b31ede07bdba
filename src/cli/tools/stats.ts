/**
 * `mogfs stats`: mogstats's report (devices, fids, files, domains,
 * replication) in its layout. mogstats reads the database directly; we ask
 * the tracker instead (list_fids over every file, file_info for per-device
 * counts), so no database credentials are needed. The queue sections need
 * the database and say so.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { MogileFS, MogileFSAdmin } from '../../client';
import { action, loadConfig, requireTrackers, withClientOptions } from './common';
import type { ClientFlags } from './common';

const VALID = ['devices', 'fids', 'files', 'domains', 'replication', 'replication-queue', 'delete-queue', 'general-queues', 'all'];

interface ClassStat { files: number; size: number; fullsize: number; devcounts: Map<number, number> }

function parseStats(v: string): string[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!VALID.includes(s)) throw new InvalidArgumentError(`invalid stat "${s}"; valid stats: ${VALID.join(', ')}`);
  return list;
}

const pad = (s: string | number, n: number): string => String(s).padEnd(n);
const lpad = (s: string | number, n: number): string => String(s).padStart(n);

async function stats(o: ClientFlags & { stats?: string[]; verbose?: boolean }): Promise<void> {
  const cfg = await loadConfig(o);
  const admin = new MogileFSAdmin({ trackers: requireTrackers(cfg) });
  const clients = new Map<string, MogileFS>();
  const want = new Set(o.stats && o.stats.length ? o.stats : ['all']);
  const all = want.has('all');
  const has = (s: string): boolean => all || want.has(s);
  const out: string[] = [`Fetching statistics... (${[...want].join(',')})`];
  const verbose = (s: string): void => {
    if (o.verbose) process.stderr.write(`${s}\n`);
  };
  try {
    const byClass = new Map<string, Map<string, ClassStat>>();
    const perDevice = new Map<number, number>();
    let maxFid = 0;
    verbose('... walking files');
    for (let from = 0; ;) {
      const page = await admin.listFids(from, 500);
      if (page.length === 0) break;
      for (const f of page) {
        maxFid = Math.max(maxFid, f.fid);
        let classes = byClass.get(f.domain);
        if (!classes) byClass.set(f.domain, (classes = new Map()));
        let st = classes.get(f.class);
        if (!st) classes.set(f.class, (st = { files: 0, size: 0, fullsize: 0, devcounts: new Map() }));
        st.files++;
        st.size += f.length;
        st.fullsize += f.length * f.devcount;
        st.devcounts.set(f.devcount, (st.devcounts.get(f.devcount) ?? 0) + 1);
        if (has('devices')) {
          let c = clients.get(f.domain);
          if (!c) clients.set(f.domain, (c = new MogileFS({ tracker: admin.tracker, domain: f.domain })));
          const info = await c.fileInfo(f.key, { devices: true }).catch(() => null);
          for (const d of info?.devids ?? []) perDevice.set(d, (perDevice.get(d) ?? 0) + 1);
        }
      }
      from = page[page.length - 1].fid;
    }
    const sorted = <T>(m: Map<string, T>): Array<[string, T]> => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

    if (has('devices')) {
      const hosts = new Map((await admin.getHosts()).map((h) => [h.hostid, h.hostname]));
      out.push('', 'Statistics for devices...', `  ${pad('device', 10)} ${pad('host', 15)} ${lpad('files', 12)} ${lpad('status', 10)}`);
      out.push('  ---------- ---------------- ------------ ----------');
      for (const d of (await admin.getDevices()).sort((a, b) => a.devid - b.devid)) {
        out.push(`  ${pad(`dev${d.devid}`, 10)} ${pad(hosts.get(d.hostid) ?? '?', 10)} ${lpad(perDevice.get(d.devid) ?? 0, 10)} ${lpad(d.status, 10)}`);
      }
      out.push('  ---------- ---------------- ------------ ----------');
    }
    if (has('fids')) out.push('', 'Statistics for file ids...', `  Max file id: ${maxFid || 'none'}`);
    if (has('files')) {
      out.push('', 'Statistics for files...', `  ${pad('domain', 20)} ${pad('class', 10)} ${lpad('files', 10)} ${lpad('size (m)', 11)} ${lpad('fullsize (m)', 13)}`);
      out.push('  -------------------- ----------- ---------- ----------- -------------');
      for (const [dom, classes] of sorted(byClass)) {
        for (const [cls, st] of sorted(classes)) {
          const mb = (n: number): number => Math.floor(n / 1024 / 1024);
          out.push(`  ${pad(dom, 20)} ${pad(cls, 10)} ${lpad(st.files, 10)} ${lpad(mb(st.size), 11)} ${lpad(mb(st.fullsize), 13)}`);
        }
      }
      out.push('  -------------------- ----------- ---------- ----------- -------------');
    }
    if (want.has('domains') && !has('files')) {
      out.push('', 'Statistics for domains...', `  ${pad('domain', 20)} ${pad('class', 10)} ${lpad('files', 10)}`);
      out.push('  -------------------- ----------- ----------');
      for (const [dom, classes] of sorted(byClass)) {
        for (const [cls, st] of sorted(classes)) out.push(`  ${pad(dom, 20)} ${pad(cls, 10)} ${lpad(st.files, 10)}`);
      }
      out.push('  -------------------- ----------- ----------');
    }
    if (has('replication')) {
      out.push('', 'Statistics for replication...', `  ${pad('domain', 20)} ${pad('class', 10)} ${lpad('devcount', 10)} ${lpad('files', 10)}`);
      out.push('  -------------------- ----------- ---------- ----------');
      for (const [dom, classes] of sorted(byClass)) {
        for (const [cls, st] of sorted(classes)) {
          for (const [dc, n] of [...st.devcounts.entries()].sort((a, b) => a[0] - b[0])) {
            out.push(`  ${pad(dom, 20)} ${pad(cls, 10)} ${lpad(dc, 10)} ${lpad(n, 10)}`);
          }
        }
      }
      out.push('  -------------------- ----------- ---------- ----------');
    }
    for (const q of ['replication-queue', 'delete-queue', 'general-queues']) {
      if (want.has(q)) out.push('', `Statistics for ${q.replace('-', ' ')}...`, '  not available through the tracker (mogstats reads it from the database)');
    }
    out.push('', 'done');
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    for (const c of clients.values()) await c.close();
    admin.close();
  }
}

export function registerStatsTool(program: Command): void {
  withClientOptions(
    program
      .command('stats')
      .alias('mogstats')
      .description('mogstats: file, domain, replication and device statistics')
      .option('--stats <list>', `comma-separated: ${VALID.join(', ')} (default all)`, parseStats)
      .option('--verbose', 'say what is being computed')
      // MogileFS-Utils' mogstats reads the database; scripts pass it these.
      .option('--db_dsn <dsn>', 'accepted for compatibility; ignored (the tracker is asked instead)')
      .option('--db_user <user>', 'accepted for compatibility; ignored')
      .option('--db_pass <pass>', 'accepted for compatibility; ignored'),
    { domain: false },
  ).action(action('stats', stats));
}
