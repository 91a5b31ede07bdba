/**
 * What the database fault tests share: trackers and storage nodes as real
 * processes (so a tracker can be killed, and so a crash would show as an
 * exit) on one MySQL database, a client load of stores and reads that
 * records every outcome, and checks of what it stored. Every process is
 * ended by the caller's Processes.stopAll().
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { MogError, MogileFS, MogileFSAdmin, TrackerClient } from '../../src/client';
import type { TrackerClientOptions } from '../../src/client';
import { Processes } from './faults';
import type { StoredProcess } from './faults';
import type { Daemon } from './daemons';
import { waitFor } from './multitracker';

export interface DbCluster {
  trackers: Array<{ daemon: Daemon; port: number; addr: string }>;
  nodes: StoredProcess[];
  client(which: number[], opts?: Partial<TrackerClientOptions>): MogileFS;
  close(): Promise<void>;
}

/** `n` mogilefsd processes on `dsn` and two mogstored hosts (127.0.0.1 dev1, 127.0.0.2 dev2); domain `default`, mindevcount 2. */
export async function startDbCluster(procs: Processes, dsn: string, n: number): Promise<DbCluster> {
  const dir = await procs.tempDir('mogfs-dbfault-');
  const clients: MogileFS[] = [];
  const admins: MogileFSAdmin[] = [];
  const close = async (): Promise<void> => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const a of admins.splice(0)) a.close();
  };
  const trackers: DbCluster['trackers'] = [];
  const nodes: StoredProcess[] = [];
  try {
    await setUp();
  } catch (e) {
    await close(); // the processes are the caller's (Processes.stopAll); the admin clients' sockets are ours
    throw e;
  }
  return {
    trackers, nodes, close,
    client(which, opts = {}) {
      const c = new MogileFS({ tracker: new TrackerClient({ trackers: which.map((i) => trackers[i].addr), ...opts }), domain: 'default' });
      clients.push(c);
      return c;
    },
  };

  async function setUp(): Promise<void> {
    for (let i = 0; i < n; i++) {
      const t = await procs.mogilefsd(dsn);
      trackers.push({ ...t, addr: `127.0.0.1:${t.port}` });
    }
    const admin = new MogileFSAdmin({ trackers: [trackers[0].addr] });
    admins.push(admin);
    for (const [i, ip] of ['127.0.0.1', '127.0.0.2'].entries()) {
      const docroot = path.join(dir, `node${i + 1}`);
      await fs.mkdir(path.join(docroot, `dev${i + 1}`), { recursive: true });
      const p = await procs.mogstored(docroot, ip);
      nodes.push(p);
      await admin.createHost(`node${i + 1}`, { ip, port: p.httpPort, status: 'alive' });
      await admin.createDevice({ devid: i + 1, hostname: `node${i + 1}`, state: 'alive' });
    }
    await admin.createDomain('default');
    await admin.createClass('default', 'default', { mindevcount: 2 });
    for (const t of trackers) {
      const a = new MogileFSAdmin({ trackers: [t.addr] });
      admins.push(a);
      await waitFor(`tracker ${t.addr} to see every device writeable`,
        async () => (await a.getDevices()).every((d) => d.observed_state === 'writeable'), 30_000);
    }
  }
}

/** Distinct, checkable content per index (1..16 KiB). */
export function body(i: number): Buffer {
  const seed = createHash('sha256').update(String(i)).digest();
  const len = 1024 + (i % 16) * 1024;
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = seed[k % 32] ^ (k & 0xff);
  return b;
}

export interface LoadResult {
  /** Keys (by index) whose store answered OK. */
  stored: Set<number>;
  /** Failed operations: what, and the error (code and message). */
  failures: Array<{ op: string; code: string; message: string; at: number }>;
  reads: number;
  /** Longest single operation, ms. */
  slowestMs: number;
}

/**
 * `lanes` loops, each storing the next key (`<prefix>/<i>`, default `k/<i>`) and reading back one
 * stored earlier, until `stop()` says so. `onStored(count)` runs after each
 * successful store (the test's trigger for its fault).
 */
export async function runLoad(cl: MogileFS, lanes: number, stop: (r: LoadResult) => boolean, onStored?: (count: number) => void, prefix = 'k'): Promise<LoadResult> {
  const r: LoadResult = { stored: new Set(), failures: [], reads: 0, slowestMs: 0 };
  let next = 0;
  const timed = async <T>(op: string, fn: () => Promise<T>): Promise<T | undefined> => {
    const t0 = Date.now();
    try {
      return await fn();
    } catch (e) {
      r.failures.push({ op, code: e instanceof MogError ? e.code : 'exception', message: (e as Error).message, at: Date.now() });
      return undefined;
    } finally {
      r.slowestMs = Math.max(r.slowestMs, Date.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (!stop(r)) {
      const i = next++;
      const ok = await timed(`store ${prefix}/${i}`, async () => { await cl.storeBuffer(`${prefix}/${i}`, body(i)); return true; });
      if (ok) {
        r.stored.add(i);
        onStored?.(r.stored.size);
      }
      const done = [...r.stored];
      if (done.length > 0) {
        const j = done[Math.floor(Math.random() * done.length)];
        await timed(`read ${prefix}/${j}`, async () => {
          const got = await cl.getBuffer(`${prefix}/${j}`);
          if (!got.equals(body(j))) throw new Error(`${prefix}/${j} read back wrong (${got.length} bytes)`);
          r.reads++;
        });
      }
      // Let the event loop breathe: a lane whose every call fails at once must not spin.
      if (!ok) await new Promise((res) => setTimeout(res, 20));
    }
  }));
  return r;
}

/** Every stored key reads back whole (through `cl`); resolves to the keys that did not. */
export async function unreadable(cl: MogileFS, stored: Iterable<number>, prefix = 'k'): Promise<string[]> {
  const bad: string[] = [];
  for (const i of stored) {
    try {
      if (!(await cl.getBuffer(`${prefix}/${i}`)).equals(body(i))) bad.push(`${prefix}/${i}: wrong bytes`);
    } catch (e) {
      bad.push(`${prefix}/${i}: ${(e as Error).message}`);
    }
  }
  return bad;
}

export { Processes };
