/**
 * The stock-client profile of `npm run bench` (issue 9): the cluster driven
 * as the stock Perl MogileFS::Client drives it (stockclient.ts), 8 workers,
 * 2000 x 32 KiB files, class `default` with mindevcount 2, on SQLite and
 * MariaDB, with the cluster's data on ext4 and on tmpfs. Reports, per phase,
 * the server CPU per operation (tracker, storage nodes and MariaDB; not the
 * clients', which run elsewhere in a real cluster) by process, beside the
 * throughput. "store" counts from the first create_open until every file
 * has its 2 copies, so replication is paid for in it, as in the original's
 * figures in docs/BENCHMARKS.md.
 *
 *   BENCH_ENGINES=sqlite BENCH_DISKS=tmpfs node dist/test/bench/stock.js
 * Profiles of one phase: MOGFS_PROFILE_DIR=<dir> (each daemon's V8 profile)
 * with BENCH_PHASES=<file> (each phase's time window, on the profiles'
 * clock), then node dist/test/bench/profwin.js <file> <phase> <profile>...
 * BENCH_DB_LOG=<dir>: MariaDB's general log of each phase, a file each.
 * Before the table it prints each disk's floor: the CPU one new file costs
 * to create, write and close there (a stored file makes two).
 */
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MogileFS } from '../../src/client';
import { listFids } from '../../src/client/files';
import { cpuByProcess, machineBusyMs, pool, startCluster, stopCluster, withBenchMariadb } from './cluster';
import { StockClient } from './stockclient';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const SIZE = 32 * 1024;
const WORKERS = 8;
const GET_PATHS = Number(process.env.BENCH_GET_PATHS ?? 10000);
/** Files stored, read and (half of them) deleted before anything is measured; BENCH_WARM=200 is the cold start of earlier tables. */
const WARM = Number(process.env.BENCH_WARM ?? 2000);
const KEPT = Math.ceil(WARM / 2);
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,mysql').split(',').map((s) => s.trim());
const DISKS: Record<string, string> = { ext4: os.tmpdir(), tmpfs: '/dev/shm' };
const DISK_NAMES = (process.env.BENCH_DISKS ?? 'ext4,tmpfs').split(',').map((s) => s.trim());

interface Row {
  config: string;
  phase: string;
  ops: number;
  seconds: number;
  /** CPU ms per operation by server process. */
  cpu: Record<string, number>;
  other: number;
  /** Statements MariaDB ran per operation (its Questions counter), or null on SQLite. */
  statements: number | null;
}

/**
 * BENCH_DB_LOG=<dir>: MariaDB's general log of each phase, one file per
 * phase in <dir> (which statements an operation costs, not just how many).
 */
async function generalLog(dsn: string, file: string | null): Promise<void> {
  const { createConnection } = await import('mysql2/promise');
  const conn = await createConnection(dsn.replace(/\?.*$/, ''));
  try {
    if (file === null) await conn.query('SET GLOBAL general_log = 0');
    else await conn.query(`SET GLOBAL general_log_file = ${conn.escape(file)}, general_log = 1`);
  } finally {
    await conn.end();
  }
}

/** MariaDB's count of statements run (Questions), through a connection of its own. */
async function questions(dsn: string): Promise<number> {
  const { createConnection } = await import('mysql2/promise');
  const conn = await createConnection(dsn.replace(/\?.*$/, ''));
  try {
    const [rows] = await conn.query("SHOW GLOBAL STATUS LIKE 'Questions'");
    return Number((rows as { Value: string }[])[0]?.Value ?? 0);
  } finally {
    await conn.end();
  }
}

async function waitReplicated(c: MogileFS, n: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    let done = 0;
    for (let from = 0; ;) {
      const page = await listFids(c.tracker, from, 1000);
      if (page.length === 0) break;
      done += page.filter((f) => f.devcount >= 2).length;
      from = page[page.length - 1].fid;
    }
    if (done >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('replication did not finish within 10 minutes');
}

/** Waits until the storage nodes' devices hold `n` .fid files (the warm-up's two copies each). */
async function waitFidFiles(data: string, n: number): Promise<void> {
  const count = async (dir: string): Promise<number> => {
    let c = 0;
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) c += await count(path.join(dir, e.name));
      else if (e.name.endsWith('.fid')) c++;
    }
    return c;
  };
  const deadline = Date.now() + 600_000;
  while ((await count(data)) > n) {
    if (Date.now() > deadline) throw new Error('deleted files still on the devices after 10 minutes');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function benchConfig(config: string, db: string, dataRoot: string, dbPid?: number): Promise<Row[]> {
  const data = await mkdtemp(path.join(dataRoot, 'mogfs-stock-'));
  const { proc, tracker } = await startCluster(db, data);
  const rows: Row[] = [];
  const servers = async (): Promise<Record<string, number>> => {
    const by = await cpuByProcess(proc.pid as number);
    delete by.mogfs; // the `mogfs up` parent only waits on its children
    if (dbPid !== undefined) by.mariadb = (await cpuByProcess(dbPid)).mariadbd ?? 0;
    return by;
  };
  const mysql = dbPid !== undefined;
  const measure = async (phase: string, ops: number, run: () => Promise<number>): Promise<void> => {
    const q0 = mysql ? await questions(db) : 0;
    const u0 = process.cpuUsage();
    const m0 = await machineBusyMs();
    const s0 = await servers();
    const logDir = mysql ? process.env.BENCH_DB_LOG : undefined;
    if (logDir) await generalLog(db, path.resolve(logDir, `${config} ${phase}.log`.replace(/[^\w.-]+/g, '_')));
    const from = process.hrtime.bigint() / 1000n;
    const seconds = await run();
    if (logDir) await generalLog(db, null);
    if (process.env.BENCH_PHASES) {
      await appendFile(process.env.BENCH_PHASES, `${config}\t${phase}\t${from}\t${process.hrtime.bigint() / 1000n}\n`);
    }
    const s1 = await servers();
    const m1 = await machineBusyMs();
    const u1 = process.cpuUsage(u0);
    // Less this count's own two (SHOW STATUS), the figure includes the bench's polling (waitReplicated).
    const statements = mysql ? (await questions(db) - q0 - 2) / ops : null;
    const cpu: Record<string, number> = {};
    for (const k of Object.keys(s1)) cpu[k] = (s1[k] - (s0[k] ?? 0)) / ops;
    const serverSum = Object.values(cpu).reduce((a, b) => a + b, 0) * ops;
    const other = (m1 - m0 - serverSum - (u1.user + u1.system) / 1000) / ops;
    rows.push({ config, phase, ops, seconds, cpu, other, statements });
  };
  const clients = Array.from({ length: WORKERS }, () => new StockClient(tracker, 'default'));
  const ours = new MogileFS({ trackers: [tracker], domain: 'default' });
  try {
    const body = Buffer.alloc(SIZE, 0x61);
    const key = (i: number): string => `stock/${String(i).padStart(6, '0')}.jpg`;
    // Warm-up, not measured: connections and caches, and every phase's code
    // run often enough for V8 to have compiled it (right after start, a
    // fifth of the tracker's CPU is the optimizing compiler, a cost a
    // long-running server pays once). Half the warm files stay.
    await pool(WARM, WORKERS, (i, w) => clients[w].storeContent(`warm/${i}`, undefined, body));
    await waitReplicated(ours, WARM);
    await pool(WARM, WORKERS, async (i, w) => { await clients[w].getPaths(`warm/${i}`); });
    await pool(WARM - KEPT, WORKERS, (i, w) => clients[w].delete(`warm/${KEPT + i}`));
    await waitFidFiles(data, 2 * KEPT);
    await measure('store + replication to 2 copies', FILES, async () => {
      const s = await pool(FILES, WORKERS, (i, w) => clients[w].storeContent(key(i), undefined, body));
      await waitReplicated(ours, FILES + KEPT);
      // The rate is the store's; the CPU includes the replication that followed.
      return s;
    });
    await measure('get_paths (noverify=0)', GET_PATHS, () => pool(GET_PATHS, WORKERS, async (i, w) => {
      const p = await clients[w].getPaths(key(i % FILES));
      if (p.length === 0) throw new Error(`no paths for ${key(i % FILES)}`);
    }));
    await measure('delete', FILES, () => pool(FILES, WORKERS, (i, w) => clients[w].delete(key(i))));
    // The tracker answers a delete at once and removes the replicas in the background: what that costs after the phase.
    await measure('delete: the rest of the replicas\' removal', FILES, async () => {
      const t0 = process.hrtime.bigint();
      await waitFidFiles(data, 2 * KEPT);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    });
    // Both together: how much of the removal falls inside the command phase depends on how
    // busy the delete worker is, so the sum is the figure to compare across builds.
    const [cmd, rest] = rows.slice(-2);
    const sum = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
      Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, (a[k] ?? 0) + (b[k] ?? 0)]));
    rows.push({
      config, phase: 'delete, command and removal together', ops: FILES, seconds: cmd.seconds + rest.seconds,
      cpu: sum(cmd.cpu, rest.cpu), other: cmd.other + rest.other,
      statements: cmd.statements === null || rest.statements === null ? null : cmd.statements + rest.statements,
    });
  } finally {
    for (const c of clients) c.close();
    await ours.close();
    await stopCluster(proc);
    await rm(data, { recursive: true, force: true });
  }
  return rows;
}

/**
 * The disk's floor: the CPU (mostly the kernel's) one new file of SIZE costs
 * to create, write and close, measured in this process with plain blocking
 * calls (a bench, not a server). A stored and replicated file is two such
 * files, one on each storage node.
 */
function fileCreationFloor(root: string): { user: number; system: number } {
  const dir = mkdtempSync(path.join(root, 'mogfs-floor-'));
  const buf = Buffer.alloc(SIZE, 0x61);
  const n = 1000;
  try {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const fd = openSync(path.join(dir, `${String(i).padStart(10, '0')}.fid`), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      writeSync(fd, buf);
      closeSync(fd);
    }
    const c = process.cpuUsage(c0);
    return { user: c.user / n, system: c.system / n };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const floors: string[] = [];
  for (const disk of DISK_NAMES) {
    const root = DISKS[disk];
    if (!root) throw new Error(`unknown disk ${disk} (ext4 or tmpfs)`);
    const f = fileCreationFloor(root);
    floors.push(`${disk} (${root}) ${Math.round(f.user + f.system)} µs (kernel ${Math.round(f.system)})`);
    if (ENGINES.includes('sqlite')) rows.push(...await benchConfig(`sqlite, ${disk}`, 'sqlite', root));
    if (ENGINES.includes('mysql')) {
      const r = await withBenchMariadb('mogfs_stock', (dsn, pid) => benchConfig(`mariadb, ${disk}`, dsn, root, pid));
      if (r) rows.push(...r);
    }
  }
  console.log(`\nStock-client profile: ${FILES} x ${SIZE / 1024} KiB, ${WORKERS} workers as MogileFS::Client, node ${process.version}, ${os.cpus().length} cores`);
  console.log(`Floor: CPU to create, write and close one new ${SIZE / 1024} KiB file (a stored file makes two): ${floors.join('; ')}`);
  const procs = [...new Set(rows.flatMap((r) => Object.keys(r.cpu)))].sort();
  console.log(`| config | phase | ops/s | server CPU ms/op | ${procs.join(' | ')} | other | MariaDB statements/op |`);
  console.log(`|---|---|---:|---:|${procs.map(() => '---:').join('|')}|---:|---:|`);
  for (const r of rows) {
    const total = Object.values(r.cpu).reduce((a, b) => a + b, 0);
    const st = r.statements === null ? '' : r.statements.toFixed(1);
    console.log(`| ${r.config} | ${r.phase} | ${(r.ops / r.seconds).toFixed(0)} | **${total.toFixed(2)}** | ${procs.map((p) => (r.cpu[p] ?? 0).toFixed(2)).join(' | ')} | ${Math.max(0, r.other).toFixed(2)} | ${st} |`);
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
