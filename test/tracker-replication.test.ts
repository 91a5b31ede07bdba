/**
 * The tracker with its workers running: create_open waits for the monitor's
 * first round, a stored file reaches its class's mindevcount on distinct
 * hosts, and a deleted file leaves the storage nodes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { eurl } from '../src/protocol';
import type { MetadataStore } from '../src/store';
import type { Tracker } from '../src/tracker';
import { forEachEngine } from './helpers/engines';
import { LineClient, okArgs, startTestCluster, startTestTracker } from './helpers/tracker';
import type { TestCluster } from './helpers/tracker';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

forEachEngine((_engine, env) => {
  let store: MetadataStore;
  let tracker: Tracker;
  let cluster: TestCluster;
  let admin: LineClient;
  before(async () => {
    store = await env.open();
    // Register the cluster through a tracker without workers first, so the
    // workers' first monitor round sees every device.
    const setup = await startTestTracker(store);
    admin = await LineClient.connect(setup.port);
    cluster = await startTestCluster(admin, 2, 1);
    await admin.ok('create_domain', { domain: 'rep' });
    admin.close();
    await setup.close();
    tracker = await startTestTracker(store, { workers: true, config: { monitorIntervalMs: 200 } });
    admin = await LineClient.connect(tracker.port);
  });
  after(async () => {
    admin.close();
    await tracker.close();
    await cluster.close();
  });

  test('a stored file reaches 2 copies on 2 hosts, and delete removes them', async () => {
    const open = okArgs(await admin.send('create_open domain=rep&class=&key=img%2F1.jpg&fid=0&multi_dest=1'));
    const body = 'x'.repeat(4096);
    const put = await request(open.path_1, { method: 'PUT', body });
    await put.body.dump();
    assert.equal(put.statusCode, 201);
    assert.equal(await admin.send(`create_close fid=${open.fid}&devid=${open.devid_1}&domain=rep&size=4096&key=img/1.jpg&path=${eurl(open.path_1)}`), 'OK ');

    const paths = await until('two paths', async () => {
      const p = okArgs(await admin.send('get_paths domain=rep&key=img/1.jpg&noverify=1&pathcount=3'));
      return p.paths === '2' ? p : undefined;
    });
    const hosts = new Set([paths.path1, paths.path2].map((u) => new URL(u).hostname));
    assert.equal(hosts.size, 2);
    for (const u of [paths.path1, paths.path2]) {
      const res = await request(u);
      assert.equal(await res.body.text(), body);
    }
    assert.equal(okArgs(await admin.send('file_info domain=rep&key=img/1.jpg')).devcount, '2');

    assert.equal(await admin.send('delete domain=rep&key=img/1.jpg'), 'OK ');
    await until('copies removed', async () => {
      const codes = await Promise.all([paths.path1, paths.path2].map(async (u) => {
        const res = await request(u, { method: 'HEAD' });
        await res.body.dump();
        return res.statusCode;
      }));
      return codes.every((c) => c === 404) ? true : undefined;
    });
  });

  test('a file of a domain\'s implicit default class gets default_mindevcount copies (1 here: no second copy)', async () => {
    assert.equal(await admin.send('set_server_setting key=default_mindevcount&value=1'), 'OK ');
    try {
      const open = okArgs(await admin.send('create_open domain=rep&class=&key=one&fid=0&multi_dest=1'));
      const put = await request(open.path_1, { method: 'PUT', body: 'one' });
      await put.body.dump();
      assert.equal(await admin.send(`create_close fid=${open.fid}&devid=${open.devid_1}&domain=rep&size=3&key=one&path=${eurl(open.path_1)}`), 'OK ');
      // The replication job runs and is done: with a class of 1 copy it copies nothing.
      await until('the replication job to finish', async () => ((await store.queueDepths()).replicate === 0 ? true : undefined));
      assert.equal(okArgs(await admin.send('file_info domain=rep&key=one')).devcount, '1');
    } finally {
      assert.equal(await admin.send('set_server_setting key=default_mindevcount&value='), 'OK ');
    }
  });

  test('get_devices reports what the monitor observed', async () => {
    const d = await until('observed devices', async () => {
      const r = okArgs(await admin.send('get_devices '));
      return r.dev1_observed_state === 'writeable' && r.dev2_observed_state === 'writeable' ? r : undefined;
    });
    assert.ok(Number(d.dev1_mb_total) > 0);
  });
});
