/**
 * What the fault tests share: storage nodes and trackers as real processes
 * (so one can be killed with SIGKILL), every one of them ended by `stopAll()`
 * whatever happened, temp dirs removed, and a seeded PRNG so a failing fuzz
 * run can be repeated (`MOGFS_FUZZ_SEED=<n>`).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/common/log';
import { MogileFS, MogileFSAdmin, TrackerClient } from '../../src/client';
import type { MetadataStore } from '../../src/store';
import { startTracker } from '../../src/tracker';
import type { Tracker, TrackerConfig } from '../../src/tracker';
import { spawnDaemon, terminate } from './daemons';
import type { Daemon } from './daemons';
import { newDatabase } from './engines';
import type { EngineName, TestDatabase } from './engines';
import { fidFileOn, waitFor } from './multitracker';

export interface StoredProcess {
  daemon: Daemon;
  host: string;
  httpPort: number;
  mgmtPort: number;
  /** With `--metrics HOST:0` among the extra flags. */
  metricsPort: number | null;
  docroot: string;
}

/** Every process and temp dir a test started, ended in reverse order by stopAll(). */
export class Processes {
  private readonly daemons: Daemon[] = [];
  private readonly dirs: string[] = [];

  async tempDir(prefix: string): Promise<string> {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }

  /** `mogstored` on host (ports 0 = ephemeral, or the ones given, e.g. to restart a killed node in place). */
  async mogstored(
    docroot: string,
    host: string,
    opts: { httpPort?: number; mgmtPort?: number; extra?: string[] } = {},
  ): Promise<StoredProcess> {
    const d = spawnDaemon('mogstored', [
      '--docroot', docroot,
      '--httplisten', `${host}:${opts.httpPort ?? 0}`,
      '--mgmtlisten', `${host}:${opts.mgmtPort ?? 0}`,
      '--usage-interval', '0.5',
      ...(opts.extra ?? []),
    ], { MOGFS_LOG_LEVEL: 'warn' });
    this.daemons.push(d);
    const line = await d.ready;
    const m = /http=\S+:(\d+) mgmt=\S+:(\d+)/.exec(line);
    if (!m) throw new Error(`mogstored printed an unexpected listening line: ${line}`);
    const metrics = /metrics=\S+:(\d+)/.exec(line);
    return { daemon: d, host, httpPort: Number(m[1]), mgmtPort: Number(m[2]), metricsPort: metrics ? Number(metrics[1]) : null, docroot };
  }

  /** `mogilefsd` on 127.0.0.1, ephemeral port; resolves to its port. */
  async mogilefsd(db: string, extra: string[] = []): Promise<{ daemon: Daemon; port: number }> {
    const d = spawnDaemon('mogilefsd', ['-s', '--db', db, '--listen', '127.0.0.1:0', ...extra], { MOGFS_LOG_LEVEL: 'warn' });
    this.daemons.push(d);
    const line = await d.ready;
    const m = /127\.0\.0\.1:(\d+)/.exec(line);
    if (!m) throw new Error(`mogilefsd printed an unexpected listening line: ${line}`);
    return { daemon: d, port: Number(m[1]) };
  }

  /** Whether a daemon is still running. */
  static alive(d: Daemon): boolean {
    return d.child.exitCode === null && d.child.signalCode === null;
  }

  /** Ends every process, runs `beforeRemove` (e.g. unmount what the test mounted), removes the temp dirs. */
  async stopAll(beforeRemove?: () => Promise<void>): Promise<void> {
    for (const d of this.daemons.splice(0).reverse()) await terminate(d).catch(() => undefined);
    await beforeRemove?.();
    for (const dir of this.dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  }
}

/** kill -9, and wait for the exit. */
export async function killHard(d: Daemon): Promise<void> {
  if (!Processes.alive(d)) return;
  d.child.kill('SIGKILL');
  await d.exit;
}

export { seededRandom } from './random';

/** The run's seed: MOGFS_FUZZ_SEED when set, else a fresh one (printed by the caller). */
export function fuzzSeed(): number {
  const env = process.env.MOGFS_FUZZ_SEED;
  return env !== undefined && /^\d+$/.test(env) ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}

/** Every file under dir (recursive), relative to it; symlinks not followed. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));
  return out.sort();
}

export interface ClusterHost {
  hostname: string;
  ip: string;
  devids: number[];
  docroot: string;
  /** The running mogstored; replaced when restarted. */
  proc: StoredProcess;
}

/**
 * A tracker in this process (so its config and store are at hand) over a
 * fresh database, and storage nodes as separate `mogstored` processes (so
 * one can be killed), registered as hosts; domain `default` with class
 * `default` of mindevcount 2. Resolves once every device is seen writeable.
 */
export interface ProcCluster {
  db: TestDatabase;
  store: MetadataStore;
  tracker: Tracker;
  addr: string;
  hosts: ClusterHost[];
  client(): MogileFS;
  admin(): MogileFSAdmin;
  /** Start host i's mogstored again on the same ports and docroot. */
  restartHost(i: number): Promise<void>;
  /** Where fid's copy on devid is on disk. */
  fidFile(devid: number, fid: number): string;
  close(): Promise<void>;
}

export interface ProcClusterOptions {
  engine: EngineName;
  hosts: Array<{ hostname: string; ip: string; devids: number[] }>;
  tracker?: Partial<TrackerConfig>;
  /** Called per host before its mogstored starts (e.g. to mount a device directory). */
  prepare?(docroot: string, devids: number[]): Promise<void>;
}

export async function startProcCluster(procs: Processes, opts: ProcClusterOptions): Promise<ProcCluster> {
  const dir = await procs.tempDir('mogfs-proc-cluster-');
  const db = await newDatabase(opts.engine);
  const clients: MogileFS[] = [];
  const admins: MogileFSAdmin[] = [];
  let tracker: Tracker | null = null;
  const close = async (): Promise<void> => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const a of admins.splice(0)) a.close();
    await tracker?.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
  };
  try {
    const store = await db.open();
    tracker = await startTracker({
      store,
      log: createLogger('test-faults', process.env.MOGFS_LOG_LEVEL ?? 'silent'),
      config: { host: '127.0.0.1', port: 0, monitorIntervalMs: 250, nodeTimeoutMs: 2000, ...opts.tracker },
      workerOptions: { replicateBackoffSec: [1], deleteBackoffSec: [1], pollMs: 200 },
    });
    const addr = `127.0.0.1:${tracker.port}`;
    const admin = (): MogileFSAdmin => {
      const a = new MogileFSAdmin({ trackers: [addr] });
      admins.push(a);
      return a;
    };
    const a0 = admin();
    const hosts: ClusterHost[] = [];
    for (const h of opts.hosts) {
      const docroot = path.join(dir, h.hostname);
      for (const d of h.devids) await fs.mkdir(path.join(docroot, `dev${d}`), { recursive: true });
      await opts.prepare?.(docroot, h.devids);
      const proc = await procs.mogstored(docroot, h.ip, { extra: ['--metrics', `${h.ip}:0`] });
      hosts.push({ ...h, docroot, proc });
      await a0.createHost(h.hostname, { ip: h.ip, port: proc.httpPort, status: 'alive' });
      for (const devid of h.devids) await a0.createDevice({ devid, hostname: h.hostname, state: 'alive' });
    }
    await a0.createDomain('default');
    await a0.createClass('default', 'default', { mindevcount: 2 });
    await waitFor('every device seen writeable', async () => (await a0.getDevices()).every((d) => d.observed_state === 'writeable'), 30_000);
    const t = tracker;
    return {
      db, store, tracker: t, addr, hosts, admin,
      client() {
        const c = new MogileFS({ tracker: new TrackerClient({ trackers: [addr] }), domain: 'default' });
        clients.push(c);
        return c;
      },
      async restartHost(i) {
        const h = hosts[i];
        h.proc = await procs.mogstored(h.docroot, h.ip, { httpPort: h.proc.httpPort, mgmtPort: h.proc.mgmtPort, extra: ['--metrics', `${h.ip}:0`] });
      },
      fidFile: (devid, fid) => fidFileOn(hosts, devid, fid),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
