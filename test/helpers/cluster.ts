/**
 * startCluster: a whole MogileFS in this process for tests — a fresh metadata
 * store, a tracker with its workers, and two storage nodes (127.0.0.1 and
 * 127.0.0.2, two devices each, ephemeral ports) registered through the admin
 * client, with domain `default` whose class `default` has mindevcount 2.
 * Resolves once every device is known writable, so a store works at once.
 *
 *   const c = await startCluster();
 *   await c.client.storeBuffer('k', Buffer.from('x'));
 *   await c.stop();
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/common/log';
import { startTracker } from '../../src/tracker';
import type { Tracker, TrackerConfig } from '../../src/tracker';
import { startStorageNode } from '../../src/storage';
import type { StorageNode } from '../../src/storage';
import { StorageMetrics } from '../../src/storage/metrics';
import { Registry } from 'prom-client';
import type { MetadataStore } from '../../src/store';
import { MogileFS, MogileFSAdmin, MogError } from '../../src/client';
import { newDatabase } from './engines';
import type { EngineName, TestDatabase } from './engines';

export interface ClusterOptions {
  engine?: EngineName;
  /** Tracker config overrides (fast monitor rounds by default). */
  tracker?: Partial<TrackerConfig>;
}

export interface ClusterNode {
  hostname: string;
  ip: string;
  devids: number[];
  docroot: string;
  /** null while stopped. */
  node: StorageNode | null;
  port: number;
  /** The node's Prometheus metrics (bytes sent and received on its HTTP port). */
  metrics: StorageMetrics;
}

export interface Cluster {
  /** "host:port" of the tracker. */
  trackers: string[];
  /** A client on domain `default`. */
  client: MogileFS;
  admin: MogileFSAdmin;
  tracker: Tracker;
  store: MetadataStore;
  db: TestDatabase;
  /** The two storage nodes: [127.0.0.1 with dev1+dev2, 127.0.0.2 with dev3+dev4]. */
  nodes: ClusterNode[];
  /** Temp dir holding the nodes' docroots. */
  dir: string;
  /** Stop one storage node (to test failover); startNode brings it back on the same port. */
  stopNode(i: number): Promise<void>;
  startNode(i: number): Promise<void>;
  /** Poll until `check` resolves true (bounded; throws with `what` on timeout). */
  waitFor(what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Bytes the storage nodes have sent on their HTTP ports so far (all nodes). */
export async function storageBytesSent(c: Cluster): Promise<number> {
  let n = 0;
  for (const node of c.nodes) {
    const m = await node.metrics.registry.getSingleMetric('mogfs_storage_sent_bytes_total')?.get();
    n += m?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  }
  return n;
}

const HOSTS = [
  { hostname: 'node1', ip: '127.0.0.1', devids: [1, 2] },
  { hostname: 'node2', ip: '127.0.0.2', devids: [3, 4] },
];

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const log = createLogger('test-cluster');
  const db = await newDatabase(opts.engine ?? 'sqlite');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-cluster-'));
  const cleanups: (() => Promise<void>)[] = [async () => db.drop(), async () => fs.rm(dir, { recursive: true, force: true })];
  const nodes: ClusterNode[] = [];
  let tracker: Tracker | null = null;
  let client: MogileFS | null = null;
  let admin: MogileFSAdmin | null = null;

  const stopAll = async (): Promise<void> => {
    await client?.close().catch(() => undefined);
    admin?.close();
    await tracker?.close().catch(() => undefined);
    for (const n of nodes) await n.node?.close().catch(() => undefined);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };

  try {
    const store = await db.open();
    tracker = await startTracker({
      store,
      log,
      workers: true,
      config: { host: '127.0.0.1', port: 0, monitorIntervalMs: 250, nodeTimeoutMs: 2000, ...opts.tracker },
    });
    const trackers = [`${tracker.host}:${tracker.port}`];
    admin = new MogileFSAdmin({ trackers });

    for (const h of HOSTS) {
      const docroot = path.join(dir, h.hostname);
      for (const d of h.devids) await fs.mkdir(path.join(docroot, `dev${d}`), { recursive: true });
      const metrics = new StorageMetrics(new Registry());
      const node = await startStorageNode({ docroot, host: h.ip, httpPort: 0, mgmtPort: 0, usageIntervalMs: 500, log, metrics });
      nodes.push({ ...h, docroot, node, port: node.httpPort, metrics });
      await admin.createHost(h.hostname, { ip: h.ip, port: node.httpPort, status: 'alive' });
      for (const devid of h.devids) await admin.createDevice({ devid, hostname: h.hostname, state: 'alive' });
    }

    await admin.createDomain('default');
    try {
      // What `mogadm class modify default default --mindevcount=2` sends.
      await admin.updateClass('default', 'default', { mindevcount: 2 });
    } catch (e) {
      if (!(e instanceof MogError && e.code === 'class_not_found')) throw e;
      await admin.createClass('default', 'default', { mindevcount: 2 });
    }

    const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      let last: unknown = null;
      for (;;) {
        try {
          if (await check()) return;
        } catch (e) {
          last = e;
        }
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const adminRef = admin;
    await waitFor('every device to be observed writeable', async () => {
      const devs = await adminRef.getDevices();
      return devs.length === 4 && devs.every((d) => d.observed_state === 'writeable');
    });

    client = new MogileFS({ trackers, domain: 'default' });
    const trackerRef = tracker;
    return {
      trackers,
      client,
      admin,
      tracker: trackerRef,
      store,
      db,
      nodes,
      dir,
      waitFor,
      async stopNode(i) {
        const n = nodes[i];
        await n.node?.close();
        n.node = null;
      },
      async startNode(i) {
        const n = nodes[i];
        if (n.node) return;
        n.metrics = new StorageMetrics(new Registry());
        n.node = await startStorageNode({ docroot: n.docroot, host: n.ip, httpPort: n.port, mgmtPort: 0, usageIntervalMs: 500, log, metrics: n.metrics });
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
