/**
 * Drain under load: a device is marked drain while a client keeps storing
 * files. Every file it held is copied elsewhere first and then removed from
 * it (file_on row and the file on disk); it takes no new files; at every
 * moment each file keeps mindevcount copies; at the end the device is empty
 * and every file reads back intact.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { forEachEngine } from './helpers/engines';
import { filesOnDisk, startMultiCluster, storeReplicated, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';

const N = 40;
const DRAIN = 1;

forEachEngine((engine) => {
  let c: MultiCluster;
  let data = new Map<string, Buffer>();

  before(async () => {
    c = await startMultiCluster({ engine });
    data = await storeReplicated(c, 'drain/', N, (i) => 5_000 + i * 100);
    assert.ok((await c.stores[0].moves.deviceUsage(DRAIN)).files > 0, `no file landed on dev${DRAIN}`);
  });
  after(async () => { await c?.stop(); });

  test('a drained device ends empty under a concurrent store load; every file keeps mindevcount and reads', async () => {
    const cl = c.client([0, 1]);
    let writing = true;
    let low: string | null = null;
    let stored = 0;
    // The load: a client storing files the whole time the drain runs.
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const k = `load/${i}`;
        const d = randomBytes(3_000 + (i % 7) * 1000);
        await cl.storeBuffer(k, d);
        data.set(k, d);
        stored++;
      }
    })();
    // Watch every file's copies while the drain runs: never fewer than 2 rows.
    const watcher = (async () => {
      while (writing) {
        for (const k of [...data.keys()].filter((x) => x.startsWith('drain/'))) {
          const devids = (await cl.fileInfo(k, { devices: true })).devids!;
          if (devids.length < 2 && !low) low = `${k} on ${devids.join(',')}`;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      await c.admin(1).setState('node1', DRAIN, 'drain');
      await waitFor(`dev${DRAIN} to have no file_on rows`, async () => (await c.stores[0].moves.deviceUsage(DRAIN)).files === 0, 60_000);
      // Keep the load on a little past the first empty moment: new files must not land there.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      writing = false;
      await writer;
      await watcher;
    }
    assert.ok(stored > 5, `the load stored only ${stored} files`);
    assert.equal(low, null, `a file dropped below mindevcount while draining: ${low}`);
    await waitFor('replication to settle', async () => (await c.stores[0].queueDepths()).replicate === 0, 60_000);
    assert.equal((await c.stores[0].moves.deviceUsage(DRAIN)).files, 0, `dev${DRAIN} got files again`);
    const left = (await filesOnDisk(c)).filter((p) => p.startsWith(`node1/dev${DRAIN}/`) || p.startsWith(`dev${DRAIN}/`));
    assert.deepEqual(left.filter((p) => p.endsWith('.fid')), [], `files left on dev${DRAIN}'s disk`);
    for (const [k, d] of data) {
      const info = await cl.fileInfo(k, { devices: true });
      assert.ok(!info.devids!.includes(DRAIN), `${k} still on dev${DRAIN}`);
      assert.ok(info.devids!.length >= 2, `${k} has ${info.devids!.length} copies`);
      assert.equal(new Set(info.devids!.map((x) => c.hostOf.get(x))).size, 2, `${k} not on 2 hosts: ${info.devids}`);
      assert.ok((await cl.getBuffer(k)).equals(d), `${k} reads back wrong`);
    }
    // Still marked drain, and get_devices says so.
    assert.equal((await c.admin(0).getDevices()).find((d) => d.devid === DRAIN)?.status, 'drain');
  });
});
