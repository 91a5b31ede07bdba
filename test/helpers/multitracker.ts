/**
 * A cluster with several trackers on one database, for the multi-tracker and
 * fault tests: N trackers (each with its own MetadataStore connection to the
 * same database and its own workers), two storage nodes (127.0.0.1 with
 * dev1+dev2, 127.0.0.2 with dev3+dev4), domain `default` whose class
 * `default` has mindevcount 2. Resolves once every tracker's monitor sees
 * every device writeable, so a store through any tracker works at once.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/common/log';
import { fidPathOnDevice } from '../../src/common/fidpath';
import { startTracker } from '../../src/tracker';
import type { Tracker, TrackerConfig } from '../../src/tracker';
import type { WorkerOptions } from '../../src/tracker/workers';
import { startStorageNode } from '../../src/storage';
import type { StorageNode } from '../../src/storage';
import type { MetadataStore } from '../../src/store';
import { MogileFS, MogileFSAdmin, TrackerClient } from '../../src/client';
import type { TrackerClientOptions } from '../../src/client';
import { newDatabase } from './engines';
import type { EngineName, TestDatabase } from './engines';

export interface MultiNode {
  hostname: string;
  ip: string;
  devids: number[];
  docroot: string;
  /** null while stopped. */
  node: StorageNode | null;
  port: number;
}

export interface MultiCluster {
  db: TestDatabase;
  /** One store per tracker (separate connections to the same database). */
  stores: MetadataStore[];
  /** null once closed with closeTracker(). */
  trackers: (Tracker | null)[];
  /** "host:port" of each tracker, in start order. */
  addrs: string[];
  nodes: MultiNode[];
  /** hostid of each devid, as registered. */
  hostOf: Map<number, number>;
  /** A client on `domain` (default `default`) talking to the trackers `which` (indexes), in that order. */
  client(which: number[], opts?: { domain?: string; tracker?: Partial<TrackerClientOptions> }): MogileFS;
  /** An admin client on one tracker. */
  admin(which: number): MogileFSAdmin;
  /** Close one tracker as if its process ended (sockets dropped, workers stopped). */
  closeTracker(i: number): Promise<void>;
  stopNode(i: number): Promise<void>;
  startNode(i: number): Promise<void>;
  /** Where fid's copy on devid lives on disk. */
  fidFile(devid: number, fid: number): string;
  stop(): Promise<void>;
}

const HOSTS = [
  { hostname: 'node1', ip: '127.0.0.1', devids: [1, 2] },
  { hostname: 'node2', ip: '127.0.0.2', devids: [3, 4] },
];

export interface MultiClusterOptions {
  engine: EngineName;
  trackers?: number;
  tracker?: Partial<TrackerConfig>;
  /** Config for single trackers, by index, over `tracker`. */
  perTracker?: Partial<TrackerConfig>[];
  workerOptions?: WorkerOptions;
}

/** Poll until `check` resolves true, or throw naming `what` (and the last error) after timeoutMs. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await check()) return;
      last = null;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startMultiCluster(opts: MultiClusterOptions): Promise<MultiCluster> {
  const log = createLogger('test-multi', process.env.MOGFS_LOG_LEVEL ?? 'silent');
  const db = await newDatabase(opts.engine);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-multi-'));
  const stores: MetadataStore[] = [];
  const trackers: (Tracker | null)[] = [];
  const nodes: MultiNode[] = [];
  const clients: MogileFS[] = [];
  const admins: MogileFSAdmin[] = [];
  const trackerClients: TrackerClient[] = [];
  const hostOf = new Map<number, number>();

  const stop = async (): Promise<void> => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const t of trackerClients.splice(0)) t.close();
    for (const a of admins.splice(0)) a.close();
    for (const t of trackers) await t?.close().catch(() => undefined);
    for (const n of nodes) await n.node?.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < (opts.trackers ?? 2); i++) {
      const store = await db.open();
      stores.push(store);
      trackers.push(await startTracker({
        store,
        log: log.child({ tracker: i }),
        workers: true,
        config: { host: '127.0.0.1', port: 0, monitorIntervalMs: 250, nodeTimeoutMs: 2000, ...opts.tracker, ...opts.perTracker?.[i] },
        workerOptions: { replicateBackoffSec: [1], deleteBackoffSec: [1], pollMs: 200, ...opts.workerOptions },
      }));
    }
    const addrs = trackers.map((t) => `127.0.0.1:${t!.port}`);
    const admin = (which: number): MogileFSAdmin => {
      const a = new MogileFSAdmin({ trackers: [addrs[which]] });
      admins.push(a);
      return a;
    };
    const a0 = admin(0);
    for (const h of HOSTS) {
      const docroot = path.join(dir, h.hostname);
      for (const d of h.devids) await fs.mkdir(path.join(docroot, `dev${d}`), { recursive: true });
      const node = await startStorageNode({ docroot, host: h.ip, httpPort: 0, mgmtPort: 0, usageIntervalMs: 500, log });
      nodes.push({ ...h, docroot, node, port: node.httpPort });
      const hostid = await a0.createHost(h.hostname, { ip: h.ip, port: node.httpPort, status: 'alive' });
      for (const devid of h.devids) {
        await a0.createDevice({ devid, hostname: h.hostname, state: 'alive' });
        hostOf.set(devid, hostid);
      }
    }
    await a0.createDomain('default');
    await a0.createClass('default', 'default', { mindevcount: 2 });
    // Every tracker must see (through the shared database) and monitor every device.
    for (let i = 0; i < trackers.length; i++) {
      const a = admin(i);
      await waitFor(`tracker ${i} to see every device writeable`, async () => {
        const devs = await a.getDevices();
        return devs.length === 4 && devs.every((d) => d.observed_state === 'writeable');
      });
    }

    return {
      db, stores, trackers, addrs, nodes, hostOf, admin,
      client(which, o = {}) {
        const tc = new TrackerClient({ trackers: which.map((i) => addrs[i]), ...o.tracker });
        const c = new MogileFS({ tracker: tc, domain: o.domain ?? 'default' });
        clients.push(c);
        trackerClients.push(tc);
        return c;
      },
      async closeTracker(i) {
        await trackers[i]?.close();
        trackers[i] = null;
      },
      async stopNode(i) {
        await nodes[i].node?.close();
        nodes[i].node = null;
      },
      async startNode(i) {
        const n = nodes[i];
        if (n.node) return;
        n.node = await startStorageNode({ docroot: n.docroot, host: n.ip, httpPort: n.port, mgmtPort: 0, usageIntervalMs: 500, log });
      },
      fidFile: (devid, fid) => fidFileOn(nodes, devid, fid),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Where fid's copy on devid lives on disk, among storage nodes with these docroots and devices. */
export function fidFileOn(nodes: ReadonlyArray<{ docroot: string; devids: number[] }>, devid: number, fid: number): string {
  const n = nodes.find((x) => x.devids.includes(devid));
  if (!n) throw new Error(`no storage node has dev${devid}`);
  return path.join(n.docroot, fidPathOnDevice(devid, fid));
}

/** Every regular file under the nodes' device directories (fid files and leftovers), relative to each docroot. */
export async function filesOnDisk(c: MultiCluster): Promise<string[]> {
  const out: string[] = [];
  for (const n of c.nodes) {
    for (const devid of n.devids) {
      const base = path.join(n.docroot, `dev${devid}`);
      const entries = await fs.readdir(base, { recursive: true, withFileTypes: true });
      for (const e of entries) {
        if (!e.isFile()) continue;
        const rel = path.relative(n.docroot, path.join(e.path ?? base, e.name));
        if (/\/(usage|test-write\/.*)$/.test(rel)) continue;
        out.push(rel);
      }
    }
  }
  return out;
}

export async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

/** Run `fn` over `items` with at most `limit` running at once; rejects with the first error after all settle. */
export async function pool<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let firstErr: unknown = null;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        firstErr ??= e;
      }
    }
  });
  await Promise.all(lanes);
  if (firstErr) throw firstErr;
  return out;
}

/**
 * Stores `count` random files named `<prefix><i>` (sizes from `size(i)`) through tracker 0, 8 at
 * a time, and waits until every one has 2 copies and the replication queue is empty. Resolves
 * to the files' contents by key.
 */
export async function storeReplicated(
  c: MultiCluster, prefix: string, count: number, size: (i: number) => number,
): Promise<Map<string, Buffer>> {
  const cl = c.client([0]);
  const data = new Map<string, Buffer>();
  const files = Array.from({ length: count }, (_, i) => [`${prefix}${i}`, randomBytes(size(i))] as const);
  await pool(files, 8, async ([k, d]) => {
    await cl.storeBuffer(k, d);
    data.set(k, d);
  });
  await waitFor('every file on 2 hosts', async () => {
    if ((await c.stores[0].queueDepths()).replicate) return false;
    for (const k of data.keys()) if ((await cl.fileInfo(k)).devcount !== 2) return false;
    return true;
  }, 60_000);
  return data;
}
