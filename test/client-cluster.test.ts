/**
 * The client library end to end against a real in-process cluster (tracker
 * with workers, two storage nodes, a real metadata store): store and read
 * buffers, files and 20 MiB streams, Range reads, failover when a storage
 * node is stopped, key operations, admin calls, and error codes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import fs from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MogileFS, MogError } from '../src/client';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { forEachEngine } from './helpers/engines';

const MiB = 1024 * 1024;

function pattern(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed + (i >> 13)) & 0xff;
  return b;
}

/** A stream that makes `size` bytes on demand, never holding more than one 64 KiB chunk. */
function generated(size: number, seed: number): { stream: Readable; md5: () => string } {
  const hash = createHash('md5');
  let made = 0;
  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (made >= size) return void this.push(null);
      const n = Math.min(64 * 1024, size - made);
      const chunk = pattern(n, seed + made);
      made += n;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, md5: () => hash.digest('hex') };
}

/** A real gc(), so a sample counts live buffers only, not garbage awaiting collection. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Peak growth of this process's live Buffer memory while `fn` runs. */
async function peakBufferGrowth(fn: () => Promise<void>): Promise<number> {
  gc();
  const base = process.memoryUsage().arrayBuffers;
  let peak = base;
  const timer = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }, 10);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return peak - base;
}

const isCode = (code: string) => (e: unknown): boolean => {
  assert.ok(e instanceof MogError, `expected MogError(${code}), got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};

forEachEngine((engine) => {
  let c: Cluster;
  before(async () => { c = await startCluster({ engine }); });
  after(async () => { await c?.stop(); });

  test('store and fetch a buffer; file_info; replication reaches mindevcount', async () => {
    const data = pattern(123_457);
    const r = await c.client.storeBuffer('buf/one.bin', data);
    assert.equal(r.size, data.length);
    assert.ok((await c.client.getBuffer('buf/one.bin')).equals(data));
    await c.waitFor('devcount 2', async () => (await c.client.fileInfo('buf/one.bin')).devcount === 2);
    const info = await c.client.fileInfo('buf/one.bin', { devices: true });
    assert.equal(info.fid, r.fid);
    assert.equal(info.domain, 'default');
    assert.equal(info.class, 'default');
    assert.equal(info.key, 'buf/one.bin');
    assert.equal(info.length, data.length);
    assert.equal(info.devids?.length, 2);
    // On distinct hosts: one devid from each node.
    const hostOf = (d: number): number => (d <= 2 ? 1 : 2);
    assert.notEqual(hostOf(info.devids![0]), hostOf(info.devids![1]));
    assert.equal((await c.client.getPaths('buf/one.bin')).length, 2);
    // An empty file is a file too.
    await c.client.storeBuffer('buf/empty', Buffer.alloc(0));
    assert.equal((await c.client.getBuffer('buf/empty')).length, 0);
  });

  test('20 MiB streams in and out without being held in memory (known and unknown size)', async () => {
    const size = 20 * MiB;
    // mindevcount 1: no replication copying 20 MiB in this same process while we measure.
    await c.admin.createClass('default', 'one-copy', { mindevcount: 1 });
    for (const known of [true, false]) {
      const src = generated(size, known ? 5 : 6);
      const key = `big/${known ? 'sized' : 'chunked'}.bin`;
      let stored;
      const upGrowth = await peakBufferGrowth(async () => {
        stored = await c.client.storeStream(key, src.stream, known ? { size, class: 'one-copy' } : { class: 'one-copy' });
      });
      assert.equal(stored!.size, size);
      assert.ok(upGrowth < size / 2, `upload grew buffers by ${upGrowth} bytes`);
      const hash = createHash('md5');
      let got = 0;
      const downGrowth = await peakBufferGrowth(async () => {
        for await (const chunk of await c.client.get(key)) {
          hash.update(chunk as Buffer);
          got += (chunk as Buffer).length;
        }
      });
      assert.equal(got, size);
      assert.equal(hash.digest('hex'), src.md5());
      assert.ok(downGrowth < size / 2, `download grew buffers by ${downGrowth} bytes`);
    }
  });

  test('a reader that stops early releases the stream and the client stays usable', async () => {
    const stream = await c.client.get('big/sized.bin');
    const first: Buffer = await new Promise((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    assert.ok(first.length > 0);
    stream.destroy();
    await new Promise((r) => stream.once('close', r));
    const again = await c.client.getBuffer('big/sized.bin', { range: { start: 0, end: first.length - 1 } });
    assert.ok(again.equals(first));
  });

  test('storeFile, Range reads, and MD5 checksums on a class with a hashtype', async () => {
    const data = pattern(3 * MiB + 17, 9);
    const file = path.join(c.dir, 'upload.bin');
    await fs.writeFile(file, data);
    await c.client.storeFile('file/a.bin', file);
    assert.ok((await c.client.getBuffer('file/a.bin', { range: { start: 0, end: 0 } })).equals(data.subarray(0, 1)));
    assert.ok((await c.client.getBuffer('file/a.bin', { range: { start: 1_000_000, end: 2_000_000 } })).equals(data.subarray(1_000_000, 2_000_001)));
    assert.ok((await c.client.getBuffer('file/a.bin', { range: { start: data.length - 5 } })).equals(data.subarray(data.length - 5)));
    assert.equal((await c.client.getBuffer('file/a.bin', { range: { start: data.length } })).length, 0);

    await c.admin.createClass('default', 'hashed', { mindevcount: 2, hashtype: 'MD5' });
    const md5 = createHash('md5').update(data).digest('hex');
    const r = await c.client.storeFile('file/hashed.bin', file, { class: 'hashed', checksumVerify: true });
    assert.equal(r.checksum, `MD5:${md5}`);
    const info = await c.client.fileInfo('file/hashed.bin');
    assert.equal(info.class, 'hashed');
    assert.equal(info.checksum, `MD5:${md5}`);
  });

  test('reads fail over when the storage node of the first path is stopped', async () => {
    const data = pattern(500_000, 4);
    await c.client.storeBuffer('failover/x', data);
    await c.waitFor('both replicas', async () => (await c.client.fileInfo('failover/x')).devcount === 2);
    const first = (await c.client.getPaths('failover/x', { noverify: true }))[0];
    const i = c.nodes.findIndex((n) => first.startsWith(`http://${n.ip}:${n.port}/`));
    assert.ok(i >= 0, `first path ${first} is on no node of ours`);
    await c.stopNode(i);
    try {
      assert.ok((await c.client.getBuffer('failover/x')).equals(data));
      assert.ok((await c.client.getBuffer('failover/x', { range: { start: 1000, end: 1999 } })).equals(data.subarray(1000, 2000)));
    } finally {
      await c.startNode(i);
    }
  });

  test('delete, rename, list_keys paging, updateclass, list_fids', async () => {
    const mog = c.client;
    for (let n = 0; n < 7; n++) await mog.storeBuffer(`list/k${n}`, Buffer.from(`v${n}`));
    await mog.storeBuffer('listx', Buffer.from('not under list/'));
    const all: string[] = [];
    for await (const k of mog.keys('list/', { pageSize: 3 })) all.push(k);
    assert.deepEqual(all, ['list/k0', 'list/k1', 'list/k2', 'list/k3', 'list/k4', 'list/k5', 'list/k6']);
    const page = await mog.listKeys('list/', { limit: 2 });
    assert.deepEqual(page.keys, ['list/k0', 'list/k1']);
    assert.equal(page.nextAfter, 'list/k1');
    assert.deepEqual(await mog.listKeys('nothing-here/'), { keys: [], nextAfter: null });

    await mog.rename('list/k0', 'moved/k0');
    assert.equal((await mog.getBuffer('moved/k0')).toString(), 'v0');
    await assert.rejects(mog.getPaths('list/k0'), isCode('unknown_key'));
    await assert.rejects(mog.rename('list/k1', 'list/k2'), isCode('key_exists'));
    await assert.rejects(mog.rename('list/gone', 'list/other'), isCode('unknown_key'));

    await mog.delete('list/k1');
    await assert.rejects(mog.getPaths('list/k1'), isCode('unknown_key'));
    await assert.rejects(mog.delete('list/k1'), isCode('unknown_key'));

    await c.admin.createClass('default', 'single', { mindevcount: 1 });
    await mog.updateClass('list/k2', 'single');
    assert.equal((await mog.fileInfo('list/k2')).class, 'single');
    await assert.rejects(mog.updateClass('list/k2', 'no-such-class'), isCode('class_not_found'));

    const fid = (await mog.fileInfo('list/k3')).fid;
    const fids = await mog.listFids(fid - 1, 5);
    assert.equal(fids[0].fid, fid);
    assert.equal(fids[0].key, 'list/k3');
    assert.equal(fids[0].domain, 'default');
    const debug = await mog.fileDebug({ key: 'list/k3' });
    assert.equal(debug.fid_dkey, 'list/k3');
  });

  test('admin: domains, classes, hosts, devices, settings, replicate_now', async () => {
    const a = c.admin;
    const dom = (await a.getDomains()).find((d) => d.name === 'default');
    assert.ok(dom);
    const def = dom.classes.find((k) => k.name === 'default');
    assert.equal(def?.mindevcount, 2);

    await a.createDomain('scratch');
    await assert.rejects(a.createDomain('scratch'), isCode('domain_exists'));
    await a.createClass('scratch', 'c1', { mindevcount: 1 });
    await assert.rejects(a.createClass('scratch', 'c1', { mindevcount: 1 }), isCode('class_exists'));
    await a.updateClass('scratch', 'c1', { mindevcount: 3, replpolicy: 'MultipleHosts(2)' });
    const c1 = (await a.getDomains()).find((d) => d.name === 'scratch')?.classes.find((k) => k.name === 'c1');
    assert.equal(c1?.mindevcount, 3);
    assert.equal(c1?.replpolicy, 'MultipleHosts(2)');
    await assert.rejects(a.createClass('scratch', 'c2', { mindevcount: 0 }), isCode('invalid_mindevcount'));
    await assert.rejects(a.deleteDomain('scratch'), isCode('domain_has_classes'));
    await a.deleteClass('scratch', 'c1');
    await a.deleteDomain('scratch');
    assert.equal((await a.getDomains()).some((d) => d.name === 'scratch'), false);
    await assert.rejects(a.deleteDomain('scratch'), isCode('domain_not_found'));

    const hosts = await a.getHosts();
    assert.deepEqual(hosts.map((h) => h.hostip).sort(), ['127.0.0.1', '127.0.0.2']);
    assert.ok(hosts.every((h) => h.status === 'alive' && h.http_port > 0 && h.hostid > 0));
    const devs = await a.getDevices();
    assert.deepEqual(devs.map((d) => d.devid).sort(), [1, 2, 3, 4]);
    assert.ok(devs.every((d) => d.status === 'alive'));

    await a.setWeight('node2', 4, 50);
    assert.equal((await a.getDevices(4))[0].weight, 50);
    await a.setState('node2', 4, 'readonly');
    assert.equal((await a.getDevices(4))[0].status, 'readonly');
    await a.setState('node2', 4, 'alive');
    await assert.rejects(a.setState('node1', 4, 'alive'), isCode('host_mismatch'));

    await a.setServerSetting('memcache_servers', '127.0.0.1:11211');
    assert.equal(await a.serverSetting('memcache_servers'), '127.0.0.1:11211');
    assert.equal((await a.serverSettings()).memcache_servers, '127.0.0.1:11211');
    assert.equal(typeof (await a.replicateNow()), 'number');
  });

  test('errors a client meets carry the tracker codes', async () => {
    const nowhere = new MogileFS({ trackers: c.trackers, domain: 'no-such-domain' });
    try {
      await assert.rejects(nowhere.storeBuffer('k', Buffer.from('x')), isCode('unreg_domain'));
      await assert.rejects(nowhere.getPaths('k'), isCode('unreg_domain'));
    } finally {
      await nowhere.close();
    }
    await assert.rejects(c.client.getPaths('never/stored'), isCode('unknown_key'));
    await assert.rejects(c.client.get('never/stored'), isCode('unknown_key'));
    await assert.rejects(c.client.fileInfo('never/stored'), isCode('unknown_key'));
    await assert.rejects(c.client.storeBuffer('k', Buffer.from('x'), { class: 'no-such-class' }), isCode('unreg_class'));
  });
});
