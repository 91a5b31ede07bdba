/**
 * The delete worker removes a deleted file's copy over the side channel of
 * a node that advertises one (ours: `delete <uri>`, a line on a kept
 * connection), and with HTTP DELETE on a node that does not (a stock
 * mogstored). Either way every copy goes and the queue empties.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { eurl } from '../src/protocol';
import { StorageMetrics } from '../src/storage/metrics';
import type { MetadataStore } from '../src/store';
import type { Tracker } from '../src/tracker';
import { forEachEngine } from './helpers/engines';
import { waitFor } from './helpers/multitracker';
import { LineClient, okArgs, startTestCluster, startTestTracker, type TestCluster } from './helpers/tracker';

forEachEngine((_engine, env) => {
  let store: MetadataStore;
  let tracker: Tracker;
  let admin: LineClient;
  let cluster: TestCluster;
  const metrics = [new StorageMetrics(new Registry()), new StorageMetrics(new Registry())];

  before(async () => {
    store = await env.open();
    const setup = await startTestTracker(store);
    const c = await LineClient.connect(setup.port);
    // Host 1 is ours (side channel advertised); host 2 has none, as a stock mogstored. One device each.
    cluster = await startTestCluster(c, 2, 1, (h) => ({ mgmtPort: h === 1 ? 0 : null, metrics: metrics[h - 1] }));
    await c.ok('create_domain', { domain: 'dh' });
    await c.ok('create_class', { domain: 'dh', class: 'two', mindevcount: '2' });
    c.close();
    await setup.close();
    // One monitor round (its test writes PUT and DELETE on every device), then none during the tests.
    tracker = await startTestTracker(store, { workers: true, config: { monitorIntervalMs: 600_000 } });
    admin = await LineClient.connect(tracker.port);
  });
  after(async () => {
    admin.close();
    await tracker.close();
    await cluster.close();
  });

  /** Stores `key` with a copy on each device; resolves to its fid once both are recorded. */
  async function storeTwice(c: LineClient, key: string): Promise<number> {
    const body = 'z'.repeat(2048);
    const open = okArgs(await c.send(`create_open domain=dh&class=two&key=${eurl(key)}&fid=0&multi_dest=1`));
    const put = await request(open.path_1, { method: 'PUT', body });
    await put.body.dump();
    assert.equal(put.statusCode, 201);
    assert.equal(await c.send(`create_close fid=${open.fid}&devid=${open.devid_1}&domain=dh&size=${body.length}&key=${eurl(key)}&path=${eurl(open.path_1)}`), 'OK ');
    const fid = Number(open.fid);
    await waitFor('two copies', async () => (await store.fileDevids(fid)).length === 2, 20_000);
    return fid;
  }

  /** The tracker's monitor has seen every device: its workers run from then on. */
  async function monitorRound(t: Tracker): Promise<void> {
    await waitFor('the first monitor round', async () => t.ctx.observed.size === cluster.nodes.length, 20_000);
    await new Promise((r) => setTimeout(r, 50));
  }

  /** HTTP status of each device's copy of `fid`. */
  async function copies(fid: number): Promise<number[]> {
    return Promise.all(cluster.nodes.map(async (node, i) => {
      const res = await request(`http://${node.host}:${node.httpPort}/dev${i + 1}/0/000/000/${String(fid).padStart(10, '0')}.fid`, { method: 'HEAD' });
      await res.body.dump();
      return res.statusCode;
    }));
  }

  /** HTTP DELETE requests each node has answered. */
  async function httpDeletes(): Promise<number[]> {
    return Promise.all(metrics.map(async (mx) => {
      const m = (await mx.registry.getMetricsAsJSON()).find((x) => x.name === 'mogfs_storage_requests_total');
      return (m?.values ?? []).filter((v) => v.labels.method === 'DELETE').reduce((a, v) => a + Number(v.value), 0);
    }));
  }

  test('a deleted file\'s copies go over the side channel where the node has one, with HTTP DELETE where not', async () => {
    await monitorRound(tracker);
    const fid = await storeTwice(admin, 'gone');
    assert.deepEqual(await copies(fid), [200, 200]);
    const before = await httpDeletes();
    assert.equal(await admin.send('delete domain=dh&key=gone'), 'OK ');
    await waitFor('both copies gone', async () => (await copies(fid)).every((s) => s === 404), 20_000);
    await waitFor('the queue to empty', async () => (await store.queueDepths()).delete === 0, 20_000);
    assert.deepEqual(await store.fileDevids(fid), []);
    const after = await httpDeletes();
    assert.deepEqual([after[0] - before[0], after[1] - before[1]], [0, 1], 'the side channel node got an HTTP DELETE, or the other none');
    assert.match(await admin.send('get_paths domain=dh&key=gone'), /^ERR unknown_key/);
  });
  test('a side channel that no longer answers (the node came back on another port): the copy goes over HTTP DELETE', async () => {
    await monitorRound(tracker);
    const fid = await storeTwice(admin, 'moved');
    // What the monitor last saw of dev1 names a port nothing listens on now.
    const seen = tracker.ctx.observed.get(1);
    assert.ok(seen?.sidechannelPort, 'dev1 advertised no side channel');
    const dead = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    tracker.ctx.observed.set(1, { ...seen, sidechannelPort: dead });
    try {
      const before = await httpDeletes();
      assert.equal(await admin.send('delete domain=dh&key=moved'), 'OK ');
      await waitFor('both copies gone', async () => (await copies(fid)).every((st) => st === 404), 20_000);
      await waitFor('the queue to empty', async () => (await store.queueDepths()).delete === 0, 20_000);
      const after = await httpDeletes();
      assert.deepEqual([after[0] - before[0], after[1] - before[1]], [1, 1]);
    } finally {
      tracker.ctx.observed.set(1, seen);
    }
  });
});
