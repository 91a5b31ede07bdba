/**
 * Micro-benchmark of one storage node alone: N PUTs then N GETs of 32 KiB
 * bodies from 8 undici clients, reporting the node's CPU per request. The
 * node runs in a child process so the clients' CPU is not counted.
 *   node .build/<dir>/test/bench/storage-node.js [N]   (BENCH_DATA: data dir, default /dev/shm)
 */
import { fork } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request } from 'undici';
import { startStorageNode } from '../../src/storage';
import { createLogger } from '../../src/common/log';

const N = Number(process.argv[2] ?? 5000);
const SIZE = 32 * 1024;
const CONCURRENCY = 8;
const DATA_DIR = process.env.BENCH_DATA ?? '/dev/shm';

interface Cpu { user: number; system: number }

/** Child side: start a node, answer 'cpu' messages with process.cpuUsage(). */
async function child(docroot: string): Promise<void> {
  const node = await startStorageNode({ docroot, httpPort: 0, mgmtPort: null, log: createLogger('bench', 'silent') });
  process.on('message', (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
    else if (m === 'stop') void node.close().then(() => process.exit(0));
  });
  process.send!({ port: node.httpPort });
}

async function main(): Promise<void> {
  const docroot = await mkdtemp(path.join(DATA_DIR, 'mogfs-nodebench-'));
  // BENCH_PROF=<dir>: write a V8 CPU profile of the node there.
  const execArgv = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const proc = fork(__filename, ['--child', docroot], { stdio: 'inherit', execArgv });
  const next = (): Promise<Record<string, unknown>> => new Promise((resolve) => proc.once('message', (m) => resolve(m as Record<string, unknown>)));
  const port = (await next()).port as number;
  const cpu = async (): Promise<number> => {
    proc.send('cpu');
    const c = (await next()).cpu as Cpu;
    return c.user + c.system;
  };
  const base = `http://127.0.0.1:${port}`;
  const dispatcher = new Agent({ connections: CONCURRENCY });
  const body = Buffer.alloc(SIZE, 7);
  const dirs = 100;
  for (let d = 0; d < dirs; d++) await mkdir(path.join(docroot, 'dev1', String(d)), { recursive: true });
  const url = (i: number): string => `${base}/dev1/${i % dirs}/${i}.fid`;
  const pool = async (n: number, job: (i: number) => Promise<void>): Promise<number> => {
    let nextI = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (nextI < n) await job(nextI++);
    }));
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const phase = async (name: string, job: (i: number) => Promise<void>): Promise<void> => {
    await pool(Math.min(500, N), job); // warm-up
    const c0 = await cpu();
    const secs = await pool(N, job);
    const used = (await cpu()) - c0;
    console.log(`${name.padEnd(14)} ${(N / secs).toFixed(0).padStart(6)}/s  node CPU ${(used / N).toFixed(1)} µs/request`);
  };
  const put = async (i: number): Promise<void> => {
    const r = await request(url(i), { method: 'PUT', body, dispatcher, headers: { 'content-length': String(SIZE) } });
    await r.body.dump();
    if (r.statusCode !== 201 && r.statusCode !== 204) throw new Error(`PUT ${r.statusCode}`);
  };
  const get = async (i: number): Promise<void> => {
    const r = await request(url(i), { dispatcher });
    const b = Buffer.from(await r.body.arrayBuffer());
    if (r.statusCode !== 200 || b.length !== SIZE) throw new Error(`GET ${r.statusCode} ${b.length}`);
  };
  const head = async (i: number): Promise<void> => {
    const r = await request(url(i), { method: 'HEAD', dispatcher });
    await r.body.dump();
    if (r.statusCode !== 200 || r.headers['content-length'] !== String(SIZE)) throw new Error(`HEAD ${r.statusCode}`);
  };
  try {
    await phase('PUT (new)', put);
    await phase('PUT (replace)', put);
    await phase('GET', get);
    await phase('HEAD', head);
  } finally {
    await dispatcher.close();
    proc.send('stop');
    await new Promise((resolve) => proc.once('exit', resolve));
    await rm(docroot, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') void child(process.argv[3]);
else void main().catch((err) => { console.error(err); process.exit(1); });
