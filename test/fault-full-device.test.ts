/**
 * A full device, made real: dev1 is a 4 MiB tmpfs the test mounts (root
 * only; skipped otherwise). Below the tracker's min_free_space a device gets
 * neither new files (create_open) nor replicas; with min_free_space low
 * enough that it fills up for real, it takes files until ENOSPC, uploads
 * that hit it then go to the next destination, and once the monitor sees it
 * full it gets nothing more. Throughout, every stored file reads back whole
 * and no device holds a short copy or a temp file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isTempName } from '../src/storage';
import { Processes, listFiles, seededRandom, startProcCluster } from './helpers/faults';
import type { ProcCluster } from './helpers/faults';
import { httpGet, sample } from './helpers/daemons';
import { pool, waitFor } from './helpers/multitracker';
import type { MogileFS } from '../src/client';

const run = promisify(execFile);
const HOSTS = [
  { hostname: 'node1', ip: '127.0.0.1', devids: [1] },
  { hostname: 'node2', ip: '127.0.0.2', devids: [2] },
  { hostname: 'node3', ip: '127.0.0.3', devids: [3] },
];
const canMount = process.getuid?.() === 0;

/** A cluster whose dev1 is a fresh 4 MiB tmpfs; unmounted (and everything stopped) by the returned stop(). */
async function fullDeviceCluster(minFreeMb: number | undefined): Promise<{ c: ProcCluster; dev1: string; stop(): Promise<void> }> {
  const procs = new Processes();
  const mounted: string[] = [];
  let c: ProcCluster | null = null;
  const stop = async (): Promise<void> => {
    await c?.close();
    await procs.stopAll(async () => {
      for (const m of mounted) await run('umount', [m]).catch(() => run('umount', ['-l', m]));
    });
  };
  try {
    c = await startProcCluster(procs, {
      engine: 'sqlite',
      hosts: HOSTS,
      tracker: minFreeMb === undefined ? {} : { minFreeMb },
      async prepare(docroot, devids) {
        if (!devids.includes(1)) return;
        await run('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', path.join(docroot, 'dev1')]);
        mounted.push(path.join(docroot, 'dev1'));
      },
    });
    return { c, dev1: mounted[0], stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Store `n` files of 10-150 KB (both of the storage node's PUT paths), four at a time; every store must succeed. */
async function storeMany(cl: MogileFS, prefix: string, n: number, seed: number): Promise<Map<string, Buffer>> {
  const rnd = seededRandom(seed);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) files.set(`${prefix}/${i}`, Buffer.alloc(10_000 + Math.floor(rnd() * 140_000), i % 251));
  await pool([...files], 4, ([k, d]) => cl.storeBuffer(k, d));
  return files;
}

/** Replication done: the queue is empty and every file has 2 copies. */
async function settled(c: ProcCluster, cl: MogileFS, keys: Iterable<string>): Promise<void> {
  const all = [...keys];
  await waitFor('every file at 2 copies, queue empty', async () => {
    if ((await c.store.queueDepths()).replicate > 0) return false;
    for (const k of all) if ((await cl.fileInfo(k)).devcount !== 2) return false;
    return true;
  }, 60_000);
}

/** Every copy the database names is on disk at full length, every file reads back, no device holds a temp file. */
async function assertWhole(c: ProcCluster, cl: MogileFS, files: Map<string, Buffer>): Promise<Map<number, { length: number; devids: number[] }>> {
  const byFid = new Map<number, { length: number; devids: number[] }>();
  for (const [k, d] of files) {
    const info = await cl.fileInfo(k, { devices: true });
    assert.equal(info.length, d.length, k);
    for (const devid of info.devids!) {
      const st = await fs.stat(c.fidFile(devid, info.fid));
      assert.equal(st.size, d.length, `${k}: copy on dev${devid} is ${st.size} bytes, not ${d.length}`);
    }
    byFid.set(info.fid, { length: info.length, devids: info.devids! });
    assert.ok((await cl.getBuffer(k)).equals(d), `${k} reads back`);
  }
  for (const h of c.hosts) {
    const temps = (await listFiles(h.docroot)).filter((f) => isTempName(path.basename(f)));
    assert.deepEqual(temps, [], `temp files left on ${h.hostname}`);
  }
  return byFid;
}

/** Store, let replication finish, check everything is whole; how many files got a copy on dev1. */
async function storeSettled(c: ProcCluster, cl: MogileFS, prefix: string, n: number, seed: number): Promise<{ files: Map<string, Buffer>; onDev1: number }> {
  const files = await storeMany(cl, prefix, n, seed);
  await settled(c, cl, files.keys());
  const byFid = await assertWhole(c, cl, files);
  return { files, onDev1: [...byFid.values()].filter((f) => f.devids.includes(1)).length };
}

const fidFiles = async (dev1: string): Promise<string[]> => (await listFiles(dev1)).filter((f) => f.endsWith('.fid'));

test('a device with less than min_free_space free gets neither new files nor replicas', { skip: !canMount && 'needs root to mount a tmpfs' }, async () => {
  const { c, dev1, stop } = await fullDeviceCluster(undefined); // the default, 100 MB: more than the whole tmpfs
  try {
    const { onDev1 } = await storeSettled(c, c.client(), 'a', 40, 1);
    assert.equal(onDev1, 0, `${onDev1} files got a copy on the 4 MB device`);
    assert.deepEqual(await fidFiles(dev1), []);
  } finally {
    await stop();
  }
});

test('a device that fills up: uploads go elsewhere, then it gets nothing more; nothing half-written', { skip: !canMount && 'needs root to mount a tmpfs' }, async () => {
  // 1 MB: the device takes files until it is really full (ENOSPC), as a disk filled from outside would be.
  const { c, dev1, stop } = await fullDeviceCluster(1);
  try {
    const cl = c.client();
    const { files: first, onDev1 } = await storeSettled(c, cl, 'b', 200, 2);
    assert.ok(onDev1 > 0, 'dev1 took no file while it had room');
    const admin = c.admin();
    await waitFor('the tracker to see dev1 full', async () => {
      const d = (await admin.getDevices(1))[0];
      return d.observed_state !== 'writeable' || d.mb_total - d.mb_used < 1;
    }, 30_000);
    const before = await fidFiles(dev1);

    const second = await storeMany(cl, 'c', 40, 3);
    await settled(c, cl, second.keys());
    const all = new Map([...first, ...second]);
    const byFidAll = await assertWhole(c, cl, all);
    for (const k of second.keys()) assert.ok(!(await cl.fileInfo(k, { devices: true })).devids!.includes(1), `${k} got a copy on the full dev1`);
    assert.deepEqual(await fidFiles(dev1), before, 'dev1 got new files once full');
    // Whatever is on the full device is whole and accounted for.
    for (const f of before) {
      const fid = Number(path.basename(f, '.fid'));
      const row = byFidAll.get(fid);
      assert.ok(row, `${f} on dev1 belongs to no stored file`);
      assert.equal((await fs.stat(path.join(dev1, f))).size, row.length, `${f} on dev1 is short`);
    }
    // Straight at the device: a PUT larger than what is left, then (the rest filled from outside) a small one.
    const node1 = `http://127.0.0.1:${c.hosts[0].proc.httpPort}`;
    const target = '/dev1/0/000/999/0000999999.fid';
    const room = (await fs.statfs(dev1)).bavail * (await fs.statfs(dev1)).bsize;
    for (const size of [room + 64 * 1024, 10_000]) {
      const res = await fetch(node1 + target, { method: 'PUT', body: Buffer.alloc(size, 9) });
      assert.equal(res.status, 507, `a ${size}-byte PUT to the full device`);
      await res.arrayBuffer();
      await assert.rejects(fs.stat(path.join(dev1, target.slice('/dev1/'.length))), { code: 'ENOENT' });
      assert.deepEqual((await listFiles(dev1)).filter((f) => isTempName(path.basename(f))), []);
      if (size > 10_000) await fs.writeFile(path.join(dev1, 'filler'), Buffer.alloc((await fs.statfs(dev1)).bavail * 4096)).catch(() => undefined);
    }
    const m = await httpGet(`http://127.0.0.1:${c.hosts[0].proc.metricsPort}/metrics`);
    const refused = sample(m.body, 'mogfs_storage_requests_total', { method: 'PUT', status: '507' });
    console.log(`fault-full-device: ${all.size} files stored, ${onDev1} with a copy on the 4 MiB device, ${refused} PUTs to it refused with 507 (uploads and copies that went elsewhere, monitor test writes)`);
  } finally {
    await stop();
  }
});
