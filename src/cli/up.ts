/**
 * `mogfs up`: a whole MogileFS on one machine, in the foreground. Starts a
 * tracker and two storage nodes (on 127.0.0.1 and 127.0.0.2, since the
 * original schema wants one IP per host) as child processes over DATA,
 * registers hosts and devices, makes domain `default` (class `default`,
 * mindevcount 2), starts the WebDAV server and the short-URL gateway (every
 * domain, 127.0.0.1 only, no authentication), and prints `ready` with their
 * URLs once every device is writable. Where FUSE is usable it also mounts
 * every domain as a folder under the mount directory (a `mogfs mount` child
 * process: the process serving a mount must not be the one that starts and
 * stops the others), and says why when not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TrackerClient } from '../client';
import { fuseProblem } from '../fuse';
import { isMogError } from '../protocol';

export interface UpOptions {
  data: string;
  trackerPort: number;
  storagePort: number;
  db: string;
  mount: boolean;
  /** Where the FUSE mount goes (default ./mount). */
  mountDir?: string;
  /** WebDAV port on 127.0.0.1 (false: no WebDAV server). */
  davPort: number | false;
  /** Short-URL gateway port on 127.0.0.1 (false: no gateway). */
  gatewayPort: number | false;
}

interface StorageSpec { hostname: string; ip: string; devids: number[] }

const STORAGE: StorageSpec[] = [
  { hostname: 'storage1', ip: '127.0.0.1', devids: [1, 2] },
  { hostname: 'storage2', ip: '127.0.0.2', devids: [3, 4] },
];

const distSrc = path.resolve(__dirname, '..');

export async function up(opts: UpOptions): Promise<void> {
  const data = path.resolve(opts.data);
  const logs = path.join(data, 'logs');
  await mkdir(logs, { recursive: true });
  const children: { name: string; proc: ChildProcess }[] = [];
  let stopping = false;

  const stopAll = async (code: number): Promise<never> => {
    stopping = true;
    // The mount first: it uploads what is still being written while the cluster is still up.
    const mounter = children.find((c) => c.name === 'mount');
    if (mounter) await stopChild(mounter.proc, 30_000);
    await Promise.all(children.filter((c) => c !== mounter).map(({ proc }) => stopChild(proc)));
    process.exit(code);
  };
  process.on('SIGINT', () => { console.log('mogfs: stopping'); void stopAll(0); });
  process.on('SIGTERM', () => { void stopAll(0); });

  // `fatal`: when this child dies, stop everything (the mount is not: the cluster runs on without it).
  const launch = async (name: string, script: string, args: string[], fatal = true): Promise<ChildProcess> => {
    const log = await open(path.join(logs, `${name}.log`), 'a');
    // MOGFS_PROFILE_DIR: write a V8 CPU profile of each daemon there (for benchmarks).
    const prof = process.env.MOGFS_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MOGFS_PROFILE_DIR}`] : [];
    const proc = spawn(process.execPath, [...prof, path.join(distSrc, 'cli', script), ...args], {
      stdio: ['ignore', log.fd, log.fd],
    });
    await log.close();
    children.push({ name, proc });
    proc.on('exit', (code, sig) => {
      if (stopping) return;
      const logFile = path.join(logs, `${name}.log`);
      void lastLines(logFile, 5).then((tail) => {
        console.error(`mogfs: ${name} exited (${sig ?? code}); last lines of ${logFile}:\n${tail}`);
        return fatal ? stopAll(1) : undefined;
      });
    });
    return proc;
  };

  const dsn = opts.db === 'sqlite' ? `sqlite:${path.join(data, 'mogilefs.sqlite')}` : opts.db;
  for (const s of STORAGE) {
    const docroot = path.join(data, s.hostname);
    for (const devid of s.devids) await mkdir(path.join(docroot, `dev${devid}`), { recursive: true });
    await launch(s.hostname, 'mogstored.js', [
      '--docroot', docroot,
      '--httplisten', `${s.ip}:${opts.storagePort}`,
      '--mgmtlisten', `${s.ip}:${opts.storagePort + 1}`,
    ]);
  }
  await launch('tracker', 'mogilefsd.js', ['--listen', `127.0.0.1:${opts.trackerPort}`, '--db', dsn]);

  const tracker = `127.0.0.1:${opts.trackerPort}`;
  const client = new TrackerClient({ trackers: [tracker], timeoutMs: 5000 });
  try {
    await waitFor(async () => { await client.call('noop', {}); return true; }, 30_000, `tracker at ${tracker} did not answer; see ${logs}/tracker.log`);
    await register(client, opts.storagePort);
    await waitFor(async () => allWritable(client), 60_000, 'storage devices did not become writable; see the storage logs in ' + logs);
  } catch (e) {
    console.error(`mogfs: ${(e as Error).message}`);
    client.close();
    return stopAll(1);
  }
  client.close();
  const bridges: string[] = [];
  // The bridges are not fatal: the cluster runs on without any of them.
  const bridge = async (name: string, args: string[], ready: RegExp): Promise<string | null> => {
    const proc = await launch(name, 'mogfs.js', args, false);
    try {
      return (await waitForLine(proc, path.join(logs, `${name}.log`), ready))[1];
    } catch (e) {
      console.log(`mogfs: no ${name}: ${(e as Error).message}; everything else runs`);
      await stopChild(proc);
      return null;
    }
  };
  if (opts.davPort !== false) {
    const url = await bridge('dav', ['dav', '--trackers', tracker, '--port', String(opts.davPort), '--spool-dir', path.join(data, 'spool-dav')], / at (\S+)\n/);
    if (url) bridges.push(`WebDAV ${url}`);
  }
  if (opts.gatewayPort !== false) {
    const url = await bridge('gateway', ['gateway', '--trackers', tracker, '--port', String(opts.gatewayPort)], /mogfs gateway at (\S+)/);
    if (url) bridges.push(`gateway ${url}`);
  }
  if (opts.mount) {
    const where = path.resolve(opts.mountDir ?? 'mount');
    const problem = await fuseProblem();
    if (problem) {
      console.log(`mogfs: no FUSE mount: ${problem}; everything else runs`);
    } else {
      const ok = await bridge('mount', ['mount', '--trackers', tracker, '--spool-dir', path.join(data, 'spool'), where], /(mogfs mounted)/);
      if (ok) bridges.push(`every domain as a folder under ${where}`);
    }
  }
  const extra = bridges.length ? `, ${bridges.join(', ')}` : '';
  console.log(`mogfs ready: tracker ${tracker}, storage nodes ${STORAGE.map((s) => `${s.ip}:${opts.storagePort}`).join(' ')}, domain default${extra}, data ${data} (Ctrl-C stops)`);
}

/** Resolves to the match once a child has printed `line` (its stdout goes to its log file). */
async function waitForLine(proc: ChildProcess, logFile: string, line: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`it exited; see ${logFile}`);
    const m = line.exec(await readFile(logFile, 'utf8').catch(() => ''));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`it did not come up in 30 s; see ${logFile}`);
}

async function register(client: TrackerClient, storagePort: number): Promise<void> {
  for (const s of STORAGE) {
    await ignoring(['host_exists', 'ip_exists'], () =>
      client.call('create_host', { host: s.hostname, ip: s.ip, port: storagePort, status: 'alive' }));
    await client.call('update_host', { host: s.hostname, ip: s.ip, port: storagePort, status: 'alive' });
    for (const devid of s.devids) {
      await ignoring(['existing_devid', 'dev_exists', 'devid_exists'], () =>
        client.call('create_device', { hostname: s.hostname, devid, state: 'alive' }));
    }
  }
  await ignoring(['domain_exists'], () => client.call('create_domain', { domain: 'default' }));
  await ignoring(['class_exists'], () => client.call('create_class', { domain: 'default', class: 'default', mindevcount: 2 }));
  await client.call('update_class', { domain: 'default', class: 'default', mindevcount: 2 });
}

async function allWritable(client: TrackerClient): Promise<boolean> {
  const r = await client.call('get_devices', {});
  const n = Number(r.devices ?? 0);
  const want = STORAGE.reduce((a, s) => a + s.devids.length, 0);
  if (n < want) return false;
  for (let i = 1; i <= n; i++) {
    if (r[`dev${i}_observed_state`] !== 'writeable') return false;
  }
  return true;
}

async function ignoring(codes: string[], fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!codes.some((c) => isMogError(e, c))) throw e;
  }
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(what + (last instanceof Error ? ` (last error: ${last.message})` : ''));
}

async function lastLines(file: string, n: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-n).map((l) => `  ${l}`).join('\n');
}

function stopChild(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => { clearTimeout(t); resolve(); });
    proc.kill('SIGTERM');
  });
}
