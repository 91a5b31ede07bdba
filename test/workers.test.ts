/**
 * The tracker's background workers against real storage nodes (two hosts on
 * 127.0.0.1 and 127.0.0.2, two devices each) and a real metadata store on
 * both engines: replication to distinct hosts, MD5 checks, delete, the
 * tempfile reaper, the monitor, and a storage node that goes away and comes back.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { forEachEngine } from './helpers/engines';
import type { TestDatabase } from './helpers/engines';
import { startStorageNode } from '../src/storage';
import type { StorageNode } from '../src/storage';
import type { MetadataStore, ReplicateJob } from '../src/store';
import { createContext } from '../src/tracker/layout';
import type { TrackerContextHandle } from '../src/tracker/layout';
import { startWorkers } from '../src/tracker/workers';
import type { WorkersHandle } from '../src/tracker/workers';
import { createLogger } from '../src/common/log';
import { fidPathOnDevice, fidUrl } from '../src/common/fidpath';

const HOSTS = [
  { ip: '127.0.0.1', devids: [1, 2] },
  { ip: '127.0.0.2', devids: [3, 4] },
];
const hostOf = (devid: number): number => (devid <= 2 ? 0 : 1);
const now = (): number => Math.floor(Date.now() / 1000);

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Cluster {
  store: MetadataStore;
  ctx: TrackerContextHandle;
  workers: WorkersHandle;
  nodes: StorageNode[];
  roots: string[];
  ports: number[];
  dmid: number;
  classTwo: number;
  classMd5: number;
}

forEachEngine((_engine, env) => {
  let tmp: string;
  let c: Cluster;
  let db: TestDatabase;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-workers-'));
    const roots: string[] = [];
    const nodes: StorageNode[] = [];
    for (const [i, h] of HOSTS.entries()) {
      const root = path.join(tmp, `node${i}`);
      for (const devid of h.devids) await fs.mkdir(path.join(root, `dev${devid}`), { recursive: true });
      roots.push(root);
      nodes.push(await startNode(root, h.ip, 0));
    }
    db = await env.database();
    const store = await db.open();
    for (const [i, h] of HOSTS.entries()) {
      const host = await store.createHost({
        hostname: `node${i}`, hostip: h.ip, http_port: nodes[i]!.httpPort, http_get_port: null,
        status: 'alive', altip: null, altmask: null,
      });
      for (const devid of h.devids) await store.createDevice({ devid, hostid: host.hostid, status: 'alive' });
    }
    const dom = await store.createDomain('workers');
    const two = await store.createClass({ dmid: dom.dmid, classname: 'two', mindevcount: 2, replpolicy: null, hashtype: null });
    const md5 = await store.createClass({ dmid: dom.dmid, classname: 'md5', mindevcount: 2, replpolicy: 'MultipleHosts()', hashtype: 1 });
    const ctx = createContext(store, { monitorIntervalMs: 100, nodeTimeoutMs: 1000, tempfileTimeoutSec: 600 }, createLogger('test', 'silent'));
    const workers = startWorkers(ctx, { replicateBackoffSec: [1], deleteBackoffSec: [1], pollMs: 200, reaperIntervalMs: 200 });
    ctx.setWake(workers.wake);
    await workers.monitorReady;
    c = { store, ctx, workers, nodes, roots, ports: nodes.map((n) => n.httpPort), dmid: dom.dmid, classTwo: two.classid, classMd5: md5.classid };
  });

  after(async () => {
    await c?.workers.close();
    for (const n of c?.nodes ?? []) await n.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  function startNode(root: string, host: string, port: number): Promise<StorageNode> {
    return startStorageNode({ docroot: root, host, httpPort: port, mgmtPort: null, usageIntervalMs: 200, log: createLogger('node', 'silent') });
  }

  const diskPath = (devid: number, fid: number): string => path.join(c.roots[hostOf(devid)]!, fidPathOnDevice(devid, fid));
  const onDisk = (devid: number, fid: number): Promise<Buffer | null> => fs.readFile(diskPath(devid, fid)).catch(() => null);

  /** What a client does: create_open, PUT to one device, create_close (which queues replication). */
  async function storeFile(key: string, data: Buffer, devid: number, classid: number, checksum?: Buffer): Promise<number> {
    const fid = await c.store.createTempfile({ dmid: c.dmid, dkey: key, classid, devids: String(devid), createtime: now() });
    const url = fidUrl(HOSTS[hostOf(devid)]!.ip, c.ports[hostOf(devid)]!, devid, fid);
    const res = await request(url, { method: 'PUT', body: data, headers: { 'content-length': String(data.length) } });
    await res.body.dump();
    assert.ok(res.statusCode >= 200 && res.statusCode < 300, `PUT ${url}: HTTP ${res.statusCode}`);
    await c.store.commitFile({
      fid, dmid: c.dmid, dkey: key, length: data.length, classid, devids: [devid],
      checksum: checksum ? { hashtype: 1, checksum } : undefined,
    });
    await c.store.enqueueReplicate(fid, devid, now());
    c.ctx.wake('replicate');
    return fid;
  }

  /**
   * The queued replicate job of a fid, without disturbing it: the store has
   * no listing, so claim everything and put each job back as it was.
   */
  async function peekReplicateJob(fid: number): Promise<ReplicateJob | undefined> {
    const jobs = await c.store.claimReplicateJobs(now() + 86400, 100_000, 0);
    for (const j of jobs) await c.store.retryReplicate(j.fid, j.nexttry, j.failcount);
    return jobs.find((j) => j.fid === fid);
  }

  /** Waits until the fid is on `count` devices on distinct hosts, each holding exactly `data`. */
  async function replicated(fid: number, data: Buffer, count = 2): Promise<number[]> {
    return eventually(`fid ${fid} on ${count} hosts`, async () => {
      const devids = await c.store.fileDevids(fid);
      if (devids.length !== count || new Set(devids.map(hostOf)).size !== count) return undefined;
      for (const d of devids) if (!(await onDisk(d, fid))?.equals(data)) return undefined;
      return devids;
    });
  }

  test('monitor fills observed state and the device usage columns', async () => {
    for (const h of HOSTS) {
      for (const devid of h.devids) {
        const o = c.ctx.observed.get(devid);
        assert.ok(o, `dev${devid} observed`);
        assert.equal(o.reachable, true);
        assert.equal(o.writable, true);
        assert.ok((o.mbTotal ?? 0) > 0);
      }
    }
    const rows = await eventually('mb_* columns', async () => {
      const devs = await c.store.listDevices();
      return devs.every((d) => (d.mb_total ?? 0) > 0 && d.mb_used !== null && (d.mb_asof ?? 0) > 0) && devs;
    });
    assert.equal(rows.length, 4);
    // The test writes are cleaned up after themselves.
    const left = await fs.readdir(path.join(c.roots[0]!, 'dev1', 'test-write')).catch(() => []);
    assert.ok(left.filter((n) => n.startsWith('test-write-')).length <= 1, `leftover test writes: ${left.join(',')}`);
  });

  test('a new file reaches mindevcount copies on distinct hosts, bytes intact', async () => {
    const data = Buffer.from('hello replicated world\n'.repeat(1000));
    const fid = await storeFile('one', data, 1, c.classTwo);
    const devids = await replicated(fid, data);
    assert.ok(devids.includes(1));
    assert.equal((await c.store.getFile(fid))?.devcount, 2);
    await eventually('queue drained', async () => (await c.store.queueDepths()).replicate === 0);
  });

  test('an empty file replicates too', async () => {
    const fid = await storeFile('empty', Buffer.alloc(0), 3, c.classTwo);
    await replicated(fid, Buffer.alloc(0));
  });

  test('MD5 class: the copy is checked and the checksum recorded', async () => {
    const data = Buffer.from('checksummed bytes');
    const fid = await storeFile('md5-ok', data, 2, c.classMd5);
    await replicated(fid, data);
    const sum = await c.store.getChecksum(fid);
    assert.deepEqual(sum?.checksum, createHash('md5').update(data).digest());
  });

  test('MD5 mismatch: a corrupt source is not replicated, the job is retried', async () => {
    const data = Buffer.from('these bytes do not match their checksum');
    const wrong = createHash('md5').update('something else').digest();
    const fid = await storeFile('md5-bad', data, 4, c.classMd5, wrong);
    await eventually('a failed attempt', async () => (await peekReplicateJob(fid))?.failcount);
    assert.deepEqual(await c.store.fileDevids(fid), [4]);
    for (const d of [1, 2, 3]) assert.equal(await onDisk(d, fid), null, `no bad copy on dev${d}`);
    await c.store.deleteFile(fid);
    c.ctx.wake('delete');
  });

  test('2000 small files all reach two hosts, two trackers sharing the queue', async (t) => {
    // A second tracker on the same database takes its share of the jobs.
    const ctx2 = createContext(await db.open(), { monitorIntervalMs: 100, nodeTimeoutMs: 1000 }, createLogger('t2', 'silent'));
    const workers2 = startWorkers(ctx2, { replicateBackoffSec: [1], pollMs: 50 });
    ctx2.setWake(workers2.wake);
    t.after(() => workers2.close());
    await workers2.monitorReady;
    const fids: number[] = [];
    const files = Array.from({ length: 2000 }, (_, i) => Buffer.from(`small file ${i}\n`));
    await Promise.all(Array.from({ length: 16 }, async (_, w) => {
      for (let i = w; i < files.length; i += 16) fids[i] = await storeFile(`bulk/${i}`, files[i]!, 1 + (i % 4), c.classTwo);
    }));
    const start = Date.now();
    await eventually('2000 files replicated', async () => (await c.store.queueDepths()).replicate === 0, 120_000);
    t.diagnostic(`replicated 2000 files in ${Date.now() - start} ms after the last create_close`);
    for (const [i, fid] of fids.entries()) {
      const devids = await c.store.fileDevids(fid);
      assert.equal(new Set(devids.map(hostOf)).size, 2, `fid ${fid} on distinct hosts: ${devids.join(',')}`);
      if (i % 97 === 0) for (const d of devids) assert.deepEqual(await onDisk(d, fid), files[i]);
    }
  });

  test('delete removes every copy from disk and every file_on row', async () => {
    const data = Buffer.from('to be deleted');
    const fid = await storeFile('doomed', data, 1, c.classTwo);
    const devids = await replicated(fid, data);
    await c.store.deleteFile(fid);
    c.ctx.wake('delete');
    await eventually('copies gone', async () => {
      for (const d of devids) if (await onDisk(d, fid)) return false;
      return (await c.store.fileDevids(fid)).length === 0;
    });
    await eventually('delete queue drained', async () => (await c.store.queueDepths()).delete === 0);
  });

  test('an abandoned upload is reaped: bytes and tempfile row go', async () => {
    const old = now() - 3600;
    const fid = await c.store.createTempfile({ dmid: c.dmid, dkey: 'abandoned', classid: c.classTwo, devids: '2,3', createtime: old });
    for (const devid of [2, 3]) {
      const url = fidUrl(HOSTS[hostOf(devid)]!.ip, c.ports[hostOf(devid)]!, devid, fid);
      const res = await request(url, { method: 'PUT', body: 'partial', headers: { 'content-length': '7' } });
      await res.body.dump();
    }
    assert.ok(await onDisk(2, fid));
    await eventually('tempfile reaped', async () =>
      (await c.store.getTempfile(fid)) === null && (await onDisk(2, fid)) === null && (await onDisk(3, fid)) === null);
    // A fresh upload is left alone.
    const fresh = await c.store.createTempfile({ dmid: c.dmid, dkey: 'in-progress', classid: c.classTwo, devids: '1', createtime: now() });
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(await c.store.getTempfile(fresh));
  });

  test('a stopped storage node: replication waits for it and completes when it is back', async () => {
    const port = c.ports[1]!;
    await c.nodes[1]!.close();
    await eventually('host 2 seen down', async () => [3, 4].every((d) => c.ctx.observed.get(d)?.reachable === false));
    const data = Buffer.from('written while host 2 is down\n'.repeat(100));
    const fid = await storeFile('while-down', data, 1, c.classTwo);
    // Not satisfiable on one host: the job stays queued and is retried.
    await eventually('a failed attempt', async () => (await peekReplicateJob(fid))?.failcount);
    // Meanwhile a second copy goes to the other device of host 1, as the
    // original's "desperate" choice does, so the file is not left single.
    await eventually('a same-host copy', async () => (await c.store.fileDevids(fid)).sort().join(',') === '1,2');
    assert.deepEqual(await onDisk(2, fid), data);
    c.nodes[1] = await startNode(c.roots[1]!, HOSTS[1]!.ip, port);
    // Back: a copy lands on host 2 and the now extra same-host copy is dropped.
    const devids = await replicated(fid, data);
    const dropped = [1, 2].find((d) => !devids.includes(d))!;
    await eventually('the extra copy removed from disk', async () => (await onDisk(dropped, fid)) === null);
    await eventually('queue drained', async () => (await c.store.queueDepths()).replicate === 0);
  });

  test('a delete while a storage node is down finishes once it is back', async () => {
    const data = Buffer.from('deleted while host 2 is down');
    const fid = await storeFile('del-while-down', data, 1, c.classTwo);
    const devids = await replicated(fid, data);
    const local = devids.find((d) => hostOf(d) === 0)!;
    const remote = devids.find((d) => hostOf(d) === 1)!;
    const port = c.ports[1]!;
    await c.nodes[1]!.close();
    await eventually('host 2 seen down', async () => [3, 4].every((d) => c.ctx.observed.get(d)?.reachable === false));
    await c.store.deleteFile(fid);
    c.ctx.wake('delete');
    await eventually('the reachable copy gone', async () =>
      (await onDisk(local, fid)) === null && (await c.store.fileDevids(fid)).join(',') === String(remote));
    assert.deepEqual(await onDisk(remote, fid), data);
    assert.ok((await c.store.queueDepths()).delete >= 1, 'the delete job waits for host 2');
    c.nodes[1] = await startNode(c.roots[1]!, HOSTS[1]!.ip, port);
    await eventually('the remote copy gone', async () =>
      (await onDisk(remote, fid)) === null && (await c.store.fileDevids(fid)).length === 0);
    await eventually('delete queue drained', async () => (await c.store.queueDepths()).delete === 0);
  });

  test('a readonly device is not written to', async () => {
    await c.store.updateDevice(3, { status: 'readonly' });
    c.ctx.invalidateLayout();
    await eventually('dev3 seen not writable', async () => c.ctx.observed.get(3)?.writable === false);
    for (let i = 0; i < 10; i++) {
      const data = Buffer.from(`ro ${i}`);
      const fid = await storeFile(`ro/${i}`, data, 1, c.classTwo);
      const devids = await replicated(fid, data);
      assert.ok(!devids.includes(3), `fid ${fid} not on readonly dev3`);
    }
    await c.store.updateDevice(3, { status: 'alive' });
    c.ctx.invalidateLayout();
  });

  test('a dead device: delete drops its file_on row without contacting it', async () => {
    const data = Buffer.from('on a device that died');
    const fid = await storeFile('on-dead', data, 1, c.classTwo);
    const devids = await replicated(fid, data);
    const remote = devids.find((d) => hostOf(d) === 1)!;
    await c.store.updateDevice(remote, { status: 'dead' });
    c.ctx.invalidateLayout();
    await c.store.deleteFile(fid);
    c.ctx.wake('delete');
    await eventually('file_on rows gone', async () => (await c.store.fileDevids(fid)).length === 0);
    assert.deepEqual(await onDisk(remote, fid), data);
    assert.equal(await onDisk(devids.find((d) => d !== remote)!, fid), null);
    await c.store.updateDevice(remote, { status: 'alive' });
    c.ctx.invalidateLayout();
  });
});
