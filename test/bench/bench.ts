/**
 * `npm run bench`: the core workload against a real `mogfs up` cluster:
 * store, get_paths, fetch, list_keys and delete of N x 32 KiB files with 8
 * concurrent clients, plus the time until every file has 2 replicas.
 * Runs on SQLite, and on a private MariaDB too when one can be started.
 * Prints a Markdown table; copy it into docs/BENCHMARKS.md with the date.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MogileFS } from '../../src/client';
import { listFids } from '../../src/client/files';
import { cpuByProcess, machineBusyMs, pool, startCluster, stopCluster, withBenchMariadb } from './cluster';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const SIZE = 32 * 1024;
const CONCURRENCY = 8;
const GET_PATHS = Number(process.env.BENCH_GET_PATHS ?? 20000);
/**
 * Where the cluster keeps its files (default: the OS temp dir). On this
 * project's VMs creating a file on ext4 costs ~0.7 ms of kernel CPU, so
 * BENCH_DATA=/dev/shm shows what the software itself costs.
 */
const DATA_DIR = process.env.BENCH_DATA ?? os.tmpdir();
/** Engines to run, e.g. BENCH_ENGINES=sqlite (default: sqlite,mysql). */
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,mysql').split(',').map((s) => s.trim());

interface Row {
  engine: string;
  phase: string;
  ops: number;
  seconds: number;
  /** CPU ms per op spent by each process (bench clients, tracker, storage nodes) during the phase. */
  cpu: Record<string, number>;
}

/** Runs `n` jobs with `CONCURRENCY` workers; returns seconds taken. */
async function benchEngine(engine: string, db: string, dbPid?: number): Promise<Row[]> {
  const data = await mkdtemp(path.join(DATA_DIR, 'mogfs-bench-'));
  const { proc, tracker } = await startCluster(db, data);
  const rows: Row[] = [];
  // CPU of every process over one phase: where the time goes, not only how much.
  // "other": CPU the rest of the machine used meanwhile (anything above ~0 means the figures are disturbed).
  const cpuNow = async (): Promise<Record<string, number>> => {
    const u = process.cpuUsage();
    const ours: Record<string, number> = { clients: (u.user + u.system) / 1000, ...await cpuByProcess(proc.pid!) };
    if (dbPid !== undefined) ours.mariadb = (await cpuByProcess(dbPid)).mariadbd ?? 0;
    const sum = Object.values(ours).reduce((a, b) => a + b, 0);
    return { ...ours, other: (await machineBusyMs()) - sum };
  };
  const measure = async (phase: string, ops: number, run: () => Promise<number>): Promise<void> => {
    const before = await cpuNow();
    const seconds = await run();
    const after = await cpuNow();
    const cpu: Record<string, number> = {};
    for (const k of Object.keys(after)) if (k !== 'mogfs') cpu[k] = (after[k] - (before[k] ?? 0)) / ops;
    rows.push({ engine, phase, ops, seconds, cpu });
  };
  // One client per worker, as 8 client processes would have.
  const clients = Array.from({ length: CONCURRENCY }, () => new MogileFS({ trackers: [tracker], domain: 'default' }));
  let w = 0;
  const client = () => clients[w++ % CONCURRENCY];
  try {
    const body = Buffer.alloc(SIZE, 0x61);
    const key = (i: number) => `bench/${String(i).padStart(6, '0')}.jpg`;
    const storeStart = Date.now();
    await measure('store (create_open + PUT + create_close)', FILES, () => pool(FILES, CONCURRENCY, async (i) => { await client().storeBuffer(key(i), body); }));
    await measure('until every file has 2 replicas (from first store)', FILES, async () => {
      const replicated = await waitReplicated(clients[0], FILES, 2);
      return (replicated - storeStart) / 1000;
    });
    // As stock clients call it: the tracker verifies the first path's size.
    await measure('get_paths', GET_PATHS, () => pool(GET_PATHS, CONCURRENCY, async (i) => { await client().getPaths(key(i % FILES)); }));
    await measure('fetch (get_paths + GET)', FILES, () => pool(FILES, CONCURRENCY, async (i) => {
      const b = await client().getBuffer(key(i));
      if (b.length !== SIZE) throw new Error(`short read of ${key(i)}: ${b.length}`);
    }));
    const listRounds = 20;
    await measure(`list_keys (all ${FILES} keys, pages of 1000) x${listRounds}`, listRounds, () => pool(listRounds, CONCURRENCY, async () => {
      let n = 0;
      for await (const k of client().keys('bench/')) { if (k) n++; }
      if (n !== FILES) throw new Error(`listed ${n} keys, expected ${FILES}`);
    }));
    await measure('delete', FILES, () => pool(FILES, CONCURRENCY, async (i) => { await client().delete(key(i)); }));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stopCluster(proc);
    await rm(data, { recursive: true, force: true });
  }
  return rows;
}

/** Polls list_fids until `n` files each have `copies` devices; returns the time it happened (ms). */
async function waitReplicated(c: MogileFS, n: number, copies: number): Promise<number> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    let done = 0;
    let from = 0;
    for (;;) {
      const page = await listFids(c.tracker, from, 500);
      if (page.length === 0) break;
      done += page.filter((f) => f.devcount >= copies).length;
      from = page[page.length - 1].fid;
    }
    if (done >= n) return Date.now();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('replication did not finish within 10 minutes');
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  if (ENGINES.includes('sqlite')) rows.push(...await benchEngine('sqlite', 'sqlite'));
  if (ENGINES.includes('mysql')) {
    const r = await withBenchMariadb('mogfs_bench', (dsn, pid) => benchEngine('mysql', dsn, pid));
    if (r) rows.push(...r);
  }
  console.log(`\n${FILES} files x ${SIZE / 1024} KiB, ${CONCURRENCY} concurrent clients, node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`);
  console.log('| engine | phase | ops | seconds | ops/s |');
  console.log('|---|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.engine} | ${r.phase} | ${r.ops} | ${r.seconds.toFixed(2)} | ${(r.ops / r.seconds).toFixed(0)} |`);
  // "other" last; tick rounding can make it slightly negative, shown as 0.
  const procs = [...new Set(rows.flatMap((r) => Object.keys(r.cpu)))].sort((a, b) => Number(a === 'other') - Number(b === 'other'));
  console.log(`\nCPU ms per op, by process\n| engine | phase | ${procs.join(' | ')} |`);
  console.log(`|---|---|${procs.map(() => '---:').join('|')}|`);
  for (const r of rows) console.log(`| ${r.engine} | ${r.phase} | ${procs.map((p) => Math.max(0, r.cpu[p] ?? 0).toFixed(2)).join(' | ')} |`);
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
