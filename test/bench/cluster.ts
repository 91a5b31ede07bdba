/** Starts and stops a real `mogfs up` cluster for the benchmarks; runs and times commands. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, freePortPair } from '../helpers/ports';

const distRoot = path.resolve(__dirname, '..', '..');

/** With `mountDir`, `mogfs up` also mounts every domain there. */
export async function startCluster(db: string, data: string, mountDir?: string): Promise<{ proc: ChildProcess; tracker: string }> {
  const trackerPort = await freePort('127.0.0.1');
  const storagePort = await freePortPair();
  const mount = mountDir ? ['--mount-dir', mountDir] : ['--no-mount'];
  // The bridges' servers are not what these benches measure (bridge.ts starts its own): off, and off their fixed ports.
  mount.push('--no-dav', '--no-gateway');
  const proc = spawn(process.execPath, [path.join(distRoot, 'src', 'cli', 'mogfs.js'), 'up', '--data', data,
    '--tracker-port', String(trackerPort), '--storage-port', String(storagePort), '--db', db, ...mount],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MOGFS_LOG_LEVEL: process.env.MOGFS_LOG_LEVEL ?? 'warn' } });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/ready/.test(out)) resolve();
    });
    proc.once('exit', (c) => reject(new Error(`mogfs up exited (${c}) before ready: ${out}`)));
  });
  return { proc, tracker: `127.0.0.1:${trackerPort}` };
}

export async function stopCluster(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  await new Promise<void>((resolve) => { proc.once('exit', () => resolve()); proc.kill('SIGTERM'); });
}

/** CPU time (user + system, ms) of `pid` and each of its child processes, keyed by a short name. Linux only. */
export async function cpuByProcess(pid: number): Promise<Record<string, number>> {
  const { readdir, readFile } = await import('node:fs/promises');
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  const out: Record<string, number> = {};
  const stat = async (p: string): Promise<{ ppid: number; ms: number; name: string } | null> => {
    try {
      const s = await readFile(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const cmd = (await readFile(`/proc/${p}/cmdline`, 'utf8')).split('\0');
      const script = cmd.find((a) => a.endsWith('.js')) ?? path.basename(cmd[0]);
      const host = cmd[cmd.indexOf('--httplisten') + 1] ?? '';
      const role = path.basename(script, '.js');
      const name = role + (role === 'mogstored' ? `@${host.split(':')[0]}` : role === 'mogfs' && cmd.includes('mount') ? ' mount' : '');
      return { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * tick, name };
    } catch {
      return null;
    }
  };
  const me = await stat(String(pid));
  if (me) out[me.name] = me.ms;
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const s = await stat(p);
    if (s && s.ppid === pid) out[s.name] = s.ms;
  }
  return out;
}

/** Busy CPU time of the whole machine so far, ms (all cores; from /proc/stat). */
export async function machineBusyMs(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0];
  // cpu user nice system idle iowait irq softirq steal ...
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  return busy * 10;
}

/** Runs a command to completion (a non-zero exit rejects); returns seconds taken and its output. */
export function timed(cmd: string, args: string[]): Promise<{ seconds: number; out: string }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOGFS_LOG_LEVEL: 'warn' } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.once('error', reject);
    p.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out}`));
      resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, out });
    });
  });
}

/**
 * Runs `fn` against a database `name` on a private MariaDB started for it
 * (and stopped after); null, with a note on stderr, where none can start.
 */
export async function withBenchMariadb<T>(name: string, fn: (dsn: string, pid: number) => Promise<T>): Promise<T | null> {
  const { startMariadb } = await import('../helpers/mariadb');
  const mariadb = await startMariadb().catch((e: unknown) => {
    console.error(`bench: no MariaDB (${(e as Error).message}); MySQL figures skipped`);
    return null;
  });
  if (!mariadb) return null;
  try {
    const { createConnection } = await import('mysql2/promise');
    const conn = await createConnection(mariadb.url);
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${name}\``);
    await conn.end();
    // BENCH_DB_SOCKET=1: the tracker reaches MariaDB over its Unix socket (a server on the same machine), not TCP.
    const socket = process.env.BENCH_DB_SOCKET === '1' ? `?socket=${encodeURIComponent(mariadb.socket)}` : '';
    return await fn(mariadb.url.replace(/\/?$/, `/${name}`) + socket, mariadb.pid);
  } finally {
    await mariadb.stop();
  }
}

/** Runs jobs 0..n-1 on `workers` concurrent workers (a job is told its worker's number); resolves to the seconds taken. */
export async function pool(n: number, workers: number, job: (i: number, w: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: workers }, async (_v, w) => {
    while (next < n) await job(next++, w);
  }));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Polls `check` until it resolves true (a rejection counts as not yet); throws naming `what` after `ms`. */
export async function waitFor(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
