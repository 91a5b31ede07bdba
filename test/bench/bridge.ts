/**
 * The bridge's network servers against the usual tools, in one run (part of
 * `npm run bench`; issue 7):
 *   - WebDAV PUT then GET of N x 32 KiB files (8 concurrent clients, one
 *     keep-alive undici Agent; 20 collections made with MKCOL first), then one
 *     1 GiB PUT streamed from generated chunks and its GET (bytes discarded),
 *     against `mogfs dav` (over a `mogfs up` cluster on SQLite), `rclone serve
 *     webdav` of a local directory, and nginx's WebDAV module on local disk;
 *   - `mogfs gateway` GET of the same small files by short URL (8 concurrent
 *     clients; a first pass, then PASSES passes, each timed) against nginx
 *     serving the same bytes as static files from local disk.
 * Every server runs in a process of its own so its CPU can be read from
 * /proc; the clients are this process (on a 2-core machine they compete with
 * the servers for CPU, which the tables show).
 *
 *   node dist/test/bench/bridge.js
 *   BENCH_FILES=2000 BENCH_BIG_MIB=1024 BENCH_PASSES=3 BENCH_WARMUP=200 \
 *   BENCH_SERVERS=dav,rclone,nginx BENCH_NGINX_WORKERS=1 node dist/test/bench/bridge.js   # the defaults
 *   BENCH_PROF=<dir>: V8 CPU profiles of the dav, gateway and cluster processes there
 *   BENCH_GATEWAY_ARGS='--cache-time 60': extra flags for `mogfs gateway`
 *   BENCH_MINDEVCOUNT=1: the cluster's default class keeps one copy (to see what replication costs)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { freePort, freePortPair } from '../helpers/ports';
import { cpuByProcess, machineBusyMs, pool, timed, waitFor } from './cluster';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const SIZE = 32 * 1024;
const CONCURRENCY = 8;
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 1024);
const PASSES = Number(process.env.BENCH_PASSES ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const DIRS = 20;
const SERVERS = (process.env.BENCH_SERVERS ?? 'dav,rclone,nginx').split(',').map((s) => s.trim());
/** nginx workers: 1 by default (one process, as each mogfs server is); `auto` is one per core. */
const NGINX_WORKERS = process.env.BENCH_NGINX_WORKERS ?? '1';
const PROF = process.env.BENCH_PROF;
const GATEWAY_ARGS = (process.env.BENCH_GATEWAY_ARGS ?? '').split(/\s+/).filter(Boolean);

const distSrc = path.resolve(__dirname, '..', '..', 'src');
const MOGFS = path.join(distSrc, 'cli', 'mogfs.js');

// ---------------------------------------------------------------- children

const children = new Set<ChildProcess>();
let workDir: string | null = null;

function child(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(p);
  p.once('exit', () => children.delete(p));
  return p;
}

/** SIGTERM, then SIGKILL after `ms`; resolves once it has exited. */
async function stop(p: ChildProcess, ms = 20_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(t);
}

function killAllNow(): void {
  for (const p of children) p.kill('SIGKILL');
}

/** Resolves with the first match of `re` in the child's stdout (stderr kept for the error). */
function waitOutput(p: ChildProcess, re: RegExp, what: string, ms = 30_000): Promise<RegExpExecArray> {
  let out = '';
  let err = '';
  p.stderr?.on('data', (d: Buffer) => { err += d.toString(); if (err.length > 20_000) err = err.slice(-10_000); });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not come up in ${ms / 1000} s: ${out} ${err}`)), ms);
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    });
    p.once('exit', (c, s) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${s ?? c}) before it was ready: ${out} ${err}`));
    });
  });
}

const prof = (): string[] => (PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : []);
const mogfsEnv = (): NodeJS.ProcessEnv => ({ ...process.env, MOGFS_LOG_LEVEL: process.env.MOGFS_LOG_LEVEL ?? 'warn', ...(PROF ? { MOGFS_PROFILE_DIR: PROF } : {}) });

/** `mogfs up` on SQLite without its own WebDAV server, gateway or mount (those run as our children, measured apart). */
async function startCluster(data: string): Promise<{ proc: ChildProcess; tracker: string }> {
  const trackerPort = await freePort('127.0.0.1');
  const storagePort = await freePortPair();
  const proc = child(process.execPath, [MOGFS, 'up', '--data', data, '--tracker-port', String(trackerPort),
    '--storage-port', String(storagePort), '--db', 'sqlite', '--no-mount', '--no-dav', '--no-gateway'], mogfsEnv());
  await waitOutput(proc, /ready/, 'mogfs up', 60_000);
  return { proc, tracker: `127.0.0.1:${trackerPort}` };
}

async function startDav(tracker: string, spool: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = child(process.execPath, [...prof(), MOGFS, 'dav', '--trackers', tracker, '--domain', 'default', '--port', '0', '--spool-dir', spool], mogfsEnv());
  const m = await waitOutput(proc, / at (https?:\/\/\S+?)\/?\n/, 'mogfs dav');
  return { proc, url: m[1] };
}

async function startGateway(tracker: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = child(process.execPath, [...prof(), MOGFS, 'gateway', '--trackers', tracker, '--domain', 'default', '--port', '0', ...GATEWAY_ARGS], mogfsEnv());
  const m = await waitOutput(proc, /mogfs gateway at (https?:\/\/\S+?)\/? /, 'mogfs gateway');
  return { proc, url: m[1] };
}

async function startRclone(dir: string): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort('127.0.0.1');
  const proc = child('rclone', ['serve', 'webdav', dir, '--addr', `127.0.0.1:${port}`, '--config', '/dev/null']);
  const url = `http://127.0.0.1:${port}`;
  proc.stderr?.resume();
  proc.stdout?.resume();
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error('rclone exited');
    const r = await request(`${url}/`, { method: 'PROPFIND', headers: { depth: '0' } });
    await r.body.dump();
    return r.statusCode === 207;
  }, 'rclone serve webdav');
  return { proc, url };
}

/** nginx with a generated config: WebDAV (core PUT/DELETE/MKCOL/COPY/MOVE, dav-ext PROPFIND) and static GET over `root`. */
async function startNginx(dir: string, root: string): Promise<{ proc: ChildProcess; url: string; version: string }> {
  const port = await freePort('127.0.0.1');
  const ext = '/usr/lib/nginx/modules/ngx_http_dav_ext_module.so';
  const hasExt = await access(ext).then(() => true, () => false);
  const conf = `${hasExt ? `load_module ${ext};\n` : ''}${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${NGINX_WORKERS};
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    client_max_body_size 0;
    location / {
      dav_methods PUT DELETE MKCOL COPY MOVE;
      ${hasExt ? 'dav_ext_methods PROPFIND OPTIONS;' : ''}
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`;
  await writeFile(path.join(dir, 'nginx.conf'), conf);
  const version = (await timed('/usr/sbin/nginx', ['-v'])).out.trim().replace(/^nginx version: /, '');
  const proc = child('/usr/sbin/nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid; error_log stderr;`]);
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  proc.stdout?.resume();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${err}`);
    const r = await request(`${url}/`, { method: 'GET' });
    await r.body.dump();
    return r.statusCode < 500;
  }, `nginx (${err})`);
  return { proc, url, version };
}

// ---------------------------------------------------------------- CPU

const TICK_MS = 10; // USER_HZ = 100

async function procMs(pid: number): Promise<number> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** A process and its direct children (nginx's master and workers). */
async function treeMs(pid: number): Promise<number> {
  let ms = await procMs(pid);
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = await readFile(`/proc/${p}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === pid) ms += await procMs(Number(p));
    } catch { /* gone */ }
  }
  return ms;
}

/** Everything we run, by name: this process (the clients), each server, the cluster's daemons. */
type Watched = Record<string, () => Promise<number>>;

async function snapshot(w: Watched): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const u = process.cpuUsage();
  out.clients = (u.user + u.system) / 1000;
  for (const [k, f] of Object.entries(w)) out[k] = await f();
  out.busy = await machineBusyMs();
  return out;
}

function cpuDelta(a: Record<string, number>, b: Record<string, number>, per: number): Record<string, number> {
  const d: Record<string, number> = {};
  let sum = 0;
  for (const k of Object.keys(b)) {
    if (k === 'busy') continue;
    d[k] = (b[k] - (a[k] ?? 0)) / per;
    sum += d[k];
  }
  d.other = (b.busy - a.busy) / per - sum;
  return d;
}

// ---------------------------------------------------------------- workload

interface Row {
  server: string;
  /** What the report looks rows up by. */
  key: 'put-small' | 'get-small' | 'put-big' | 'get-big' | 'get-first' | 'get-passes';
  phase: string;
  ops: number;
  seconds: number;
  mib: number;
  /** CPU per op (per MiB for the 1 GiB phases), ms, by process. */
  cpu: Record<string, number>;
  perMib: boolean;
}

const base = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i += 4) base.writeUInt32LE(((Math.imul(i, 2654435761) ^ 0x5bd1e995) >>> 0), i);

/** File i's bytes: distinct contents (its number at the start). */
function bodyOf(i: number): Buffer {
  const b = Buffer.from(base);
  b.writeUInt32LE(i, 0);
  return b;
}

const relPath = (set: string, i: number): string => `/${set}/d${String(i % DIRS).padStart(2, '0')}/img-${String(i).padStart(5, '0')}.jpg`;

const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000, bodyTimeout: 600_000, headersTimeout: 600_000 });

async function call(url: string, method: string, body?: Buffer | Readable, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(url, { method, body, headers, dispatcher });
  await r.body.dump();
  return r.statusCode;
}

async function mkcols(url: string, set: string): Promise<void> {
  const ok = (s: number): boolean => s === 201 || s === 405; // 405: already there
  if (!ok(await call(`${url}/${set}/`, 'MKCOL'))) throw new Error(`MKCOL /${set}/ failed`);
  for (let d = 0; d < DIRS; d++) {
    const s = await call(`${url}/${set}/d${String(d).padStart(2, '0')}/`, 'MKCOL');
    if (!ok(s)) throw new Error(`MKCOL /${set}/d${d}/: ${s}`);
  }
}

async function putSmall(url: string, set: string, n: number): Promise<number> {
  return pool(n, CONCURRENCY, async (i) => {
    const b = bodyOf(i);
    const s = await call(`${url}${relPath(set, i)}`, 'PUT', b, { 'content-length': String(b.length), 'content-type': 'image/jpeg' });
    if (s !== 201 && s !== 204) throw new Error(`PUT ${url}${relPath(set, i)}: ${s}`);
  });
}

async function getSmall(url: string, set: string, n: number, passes = 1): Promise<number> {
  return pool(n * passes, CONCURRENCY, async (j) => {
    const i = j % n;
    const r = await request(`${url}${relPath(set, i)}`, { dispatcher });
    const b = Buffer.from(await r.body.arrayBuffer());
    if (r.statusCode !== 200 || b.length !== SIZE || b.readUInt32LE(0) !== i) {
      throw new Error(`GET ${url}${relPath(set, i)}: ${r.statusCode}, ${b.length} bytes`);
    }
  });
}

const chunk = Buffer.alloc(1024 * 1024);
for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.imul(i + 7, 2246822519) >>> 0), i);

/** One big PUT from a generated stream (1 MiB chunks; the same never-modified buffer, so nothing big is held). */
async function putBig(url: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const gen = async function* (): AsyncGenerator<Buffer> {
    for (let i = 0; i < BIG_MIB; i++) yield chunk;
  };
  const s = await call(`${url}/big/big.bin`, 'PUT', Readable.from(gen(), { objectMode: false }), { 'content-length': String(BIG_MIB * 1048576) });
  if (s !== 201 && s !== 204) throw new Error(`PUT ${url}/big/big.bin: ${s}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function getBig(url: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await request(`${url}/big/big.bin`, { dispatcher });
  let n = 0;
  for await (const c of r.body) n += (c as Buffer).length;
  if (r.statusCode !== 200 || n !== BIG_MIB * 1048576) throw new Error(`GET big: ${r.statusCode}, ${n} bytes`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

// ---------------------------------------------------------------- settling

async function dropCaches(): Promise<void> {
  await timed('sync', []);
  await writeFile('/proc/sys/vm/drop_caches', '3').catch(() => undefined);
}

/** Replication of what the cluster stored has finished and dirty pages are written (and, before 1 GiB phases, caches dropped). */
async function settle(sqlite: string | null, drop: boolean): Promise<void> {
  if (sqlite) {
    const db = new Database(sqlite, { readonly: true, fileMustExist: true });
    try {
      const q = db.prepare('SELECT COUNT(*) AS n FROM file_to_replicate');
      await waitFor(async () => (q.get() as { n: number }).n === 0, 'replication to finish', 600_000);
    } finally {
      db.close();
    }
  }
  if (drop) await dropCaches();
  else await timed('sync', []);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'mogfs-bench-bridge-'));
  workDir = work;
  const rows: Row[] = [];
  let upProc: ChildProcess | null = null;
  const versions: string[] = [];
  try {
    const data = path.join(work, 'cluster');
    const cluster = await startCluster(data);
    upProc = cluster.proc;
    if (process.env.BENCH_MINDEVCOUNT) {
      // Diagnosis only: how much of a store is the second copy.
      await timed(process.execPath, [path.join(distSrc, 'cli', 'mogadm.js'), `--trackers=${cluster.tracker}`, 'class', 'modify', 'default', 'default', `--mindevcount=${process.env.BENCH_MINDEVCOUNT}`]);
      await new Promise((r) => setTimeout(r, 1500)); // past the tracker's layout cache
    }
    const sqlite = path.join(data, 'mogilefs.sqlite');
    const clusterCpu = async (): Promise<Record<string, number>> => {
      const all = await cpuByProcess(cluster.proc.pid!);
      delete all.mogfs; // `mogfs up` itself: idle
      return all;
    };
    const watched: Watched = {};
    for (const k of Object.keys(await clusterCpu())) watched[k] = async () => (await clusterCpu())[k] ?? 0;

    const servers: { name: string; url: string; sqlite: string | null }[] = [];
    if (SERVERS.includes('dav')) {
      const d = await startDav(cluster.tracker, path.join(work, 'spool-dav'));
      watched['mogfs dav'] = () => procMs(d.proc.pid!);
      servers.push({ name: 'mogfs dav', url: d.url, sqlite });
    }
    const have = async (bin: string): Promise<boolean> => {
      const ok = await timed('sh', ['-c', `command -v ${bin}`]).then(() => true, () => false);
      if (!ok) console.error(`bridge: no ${bin} (scripts/ensure.js bench installs it); its figures are skipped`);
      return ok;
    };
    if (SERVERS.includes('rclone') && await have('rclone')) {
      const dir = path.join(work, 'rclone-root');
      await mkdir(dir);
      const r = await startRclone(dir);
      watched.rclone = () => procMs(r.proc.pid!);
      servers.push({ name: 'rclone serve webdav', url: r.url, sqlite: null });
      versions.push((await timed('rclone', ['version'])).out.split('\n')[0]);
    }
    const ngxRoot = path.join(work, 'nginx-root');
    let nginxUrl: string | null = null;
    if (SERVERS.includes('nginx') && await have('/usr/sbin/nginx')) {
      const dir = path.join(work, 'nginx');
      await mkdir(dir);
      await mkdir(ngxRoot);
      const n = await startNginx(dir, ngxRoot);
      watched.nginx = () => treeMs(n.proc.pid!);
      servers.push({ name: 'nginx dav', url: n.url, sqlite: null });
      nginxUrl = n.url;
      versions.push(`nginx ${n.version}, worker_processes ${NGINX_WORKERS}`);
    }
    let gatewayUrl: string | null = null;
    if (SERVERS.includes('dav')) {
      const g = await startGateway(cluster.tracker);
      watched['mogfs gateway'] = () => procMs(g.proc.pid!);
      gatewayUrl = g.url;
    }

    const measure = async (server: string, key: Row['key'], phase: string, ops: number, mib: number, perMib: boolean, run: () => Promise<number>): Promise<void> => {
      const a = await snapshot(watched);
      const seconds = await run();
      const b = await snapshot(watched);
      rows.push({ server, key, phase, ops, seconds, mib, perMib, cpu: cpuDelta(a, b, perMib ? mib : ops) });
      console.error(`bridge: ${server}: ${phase}: ${seconds.toFixed(2)} s`);
    };

    const smallMib = (FILES * SIZE) / 1048576;
    for (const s of servers) {
      // The same untimed warm-up for every server (JIT, connections, first directories).
      if (WARMUP > 0) {
        await mkcols(s.url, 'warmup');
        await putSmall(s.url, 'warmup', WARMUP);
        await getSmall(s.url, 'warmup', WARMUP);
      }
      await mkcols(s.url, 'bench');
      await settle(s.sqlite, false);
      await measure(s.name, 'put-small', `PUT ${FILES} x 32 KiB`, FILES, smallMib, false, () => putSmall(s.url, 'bench', FILES));
      await settle(s.sqlite, false);
      await measure(s.name, 'get-small', `GET ${FILES} x 32 KiB`, FILES, smallMib, false, () => getSmall(s.url, 'bench', FILES));
      if (BIG_MIB > 0) {
        if (![201, 405].includes(await call(`${s.url}/big/`, 'MKCOL'))) throw new Error(`MKCOL /big/ on ${s.name}`);
        await settle(s.sqlite, true);
        await measure(s.name, 'put-big', `PUT ${BIG_MIB} MiB`, 1, BIG_MIB, true, () => putBig(s.url));
        await settle(s.sqlite, true);
        await measure(s.name, 'get-big', `GET ${BIG_MIB} MiB (caches dropped)`, 1, BIG_MIB, true, () => getBig(s.url));
        // Room for the next server's big file.
        const del = await call(`${s.url}/big/big.bin`, 'DELETE');
        if (del >= 300) throw new Error(`DELETE big on ${s.name}: ${del}`);
      }
    }

    // Gateway against nginx's static serving of the same bytes (written there by nginx's PUT phase).
    if (gatewayUrl || nginxUrl) {
      await settle(SERVERS.includes('dav') ? sqlite : null, false);
      for (const [name, url] of [['mogfs gateway', gatewayUrl], ['nginx static', nginxUrl]] as const) {
        if (!url) continue;
        await measure(name, 'get-first', `GET ${FILES} x 32 KiB, first pass`, FILES, smallMib, false, () => getSmall(url, 'bench', FILES));
        await measure(name, 'get-passes', `GET ${FILES} x 32 KiB, ${PASSES} passes`, FILES * PASSES, smallMib * PASSES, false, () => getSmall(url, 'bench', FILES, PASSES));
      }
    }
  } finally {
    await dispatcher.close().catch(() => undefined);
    // The servers first (a profile is written on a clean exit), the cluster last.
    await Promise.all([...children].filter((p) => p !== upProc).map((p) => stop(p)));
    if (upProc) await stop(upProc, 30_000);
    await rm(work, { recursive: true, force: true });
  }
  report(rows, versions);
}

function report(rows: Row[], versions: string[]): void {
  const rate = (server: string, key: Row['key']): number | null => {
    const r = rows.find((x) => x.server === server && x.key === key);
    return r ? (r.perMib ? r.mib : r.ops) / r.seconds : null;
  };
  const fmt = (n: number | null): string => (n === null ? '-' : n.toFixed(0));
  const ratio = (a: number | null, b: number | null): string => (a === null || b === null ? '-' : (a / b).toFixed(2));
  console.log(`\nBridge: ${FILES} x 32 KiB files (${CONCURRENCY} clients), ${BIG_MIB} MiB file; node ${process.version}, ${os.cpus().length} cores; ${versions.join('; ')}`);
  console.log('\nWebDAV');
  console.log('| workload | mogfs dav | rclone serve webdav | nginx dav | dav/rclone | dav/nginx |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const wl: [string, Row['key']][] = [
    [`PUT ${FILES} x 32 KiB (files/s)`, 'put-small'],
    [`GET ${FILES} x 32 KiB (files/s)`, 'get-small'],
    [`PUT ${BIG_MIB} MiB (MiB/s)`, 'put-big'],
    [`GET ${BIG_MIB} MiB, caches dropped (MiB/s)`, 'get-big'],
  ];
  for (const [label, key] of wl) {
    if (BIG_MIB === 0 && key.endsWith('-big')) continue;
    const d = rate('mogfs dav', key);
    const r = rate('rclone serve webdav', key);
    const n = rate('nginx dav', key);
    console.log(`| ${label} | ${fmt(d)} | ${fmt(r)} | ${fmt(n)} | ${ratio(d, r)} | ${ratio(d, n)} |`);
  }
  console.log('\nGateway against nginx static files (requests/s)');
  console.log('| workload | mogfs gateway | nginx static | gateway/nginx |');
  console.log('|---|---:|---:|---:|');
  for (const [label, key] of [[`GET ${FILES} x 32 KiB, first pass`, 'get-first'], [`GET ${FILES} x 32 KiB, ${PASSES} passes after it`, 'get-passes']] as const) {
    const g = rate('mogfs gateway', key);
    const n = rate('nginx static', key);
    console.log(`| ${label} | ${fmt(g)} | ${fmt(n)} | ${ratio(g, n)} |`);
  }

  const procs = [...new Set(rows.flatMap((r) => Object.keys(r.cpu)))].filter((k) => rows.some((r) => Math.abs(r.cpu[k]) >= 0.005))
    .sort((a, b) => Number(a === 'other') - Number(b === 'other'));
  console.log('\nCPU ms per request (per MiB for the big file), by process; seconds and rate');
  console.log(`| server | phase | seconds | rate | ${procs.join(' | ')} |`);
  console.log(`|---|---|---:|---:|${procs.map(() => '---:').join('|')}|`);
  for (const r of rows) {
    const rt = r.perMib ? `${(r.mib / r.seconds).toFixed(0)} MiB/s` : `${(r.ops / r.seconds).toFixed(0)}/s`;
    console.log(`| ${r.server} | ${r.phase} | ${r.seconds.toFixed(2)} | ${rt} | ${procs.map((p) => Math.max(0, r.cpu[p] ?? 0).toFixed(r.perMib ? 2 : 3)).join(' | ')} |`);
  }
}

// Interrupted: stop every child (`mogfs up` stops its daemons on SIGTERM), remove the temp dir.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void Promise.all([...children].map((p) => stop(p, 10_000)))
      .finally(() => (workDir ? rm(workDir, { recursive: true, force: true }) : undefined))
      .finally(() => process.exit(130));
  });
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  killAllNow();
  process.exit(1);
});
