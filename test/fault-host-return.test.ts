/**
 * A storage host that was away comes back: copies that could not be made
 * while it was gone are made as soon as the monitor sees its devices
 * writable again, not after their retry backoff (here an hour, so only the
 * monitor's nudge can make the test pass).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { forEachEngine } from './helpers/engines';
import { startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';

forEachEngine((engine) => {
  let c: MultiCluster | null = null;
  after(async () => { await c?.stop(); });

  test('files stored while a host was down reach mindevcount once it is back', async () => {
    c = await startMultiCluster({ engine, trackers: 1, tracker: { monitorIntervalMs: 200 }, workerOptions: { replicateBackoffSec: [3600] } });
    const cl = c.client([0]);
    const observed = async (devid: number): Promise<string> => {
      const r = await cl.tracker.call('get_devices', {});
      for (let i = 1; i <= Number(r.devices); i++) if (Number(r[`dev${i}_devid`]) === devid) return r[`dev${i}_observed_state`] ?? '';
      return '';
    };
    await c.stopNode(1);
    await waitFor('node2\'s devices seen unreachable', async () => (await observed(3)) !== 'writeable' && (await observed(4)) !== 'writeable');
    const data = Array.from({ length: 5 }, () => randomBytes(10_000));
    for (const [i, d] of data.entries()) await cl.storeBuffer(`away/${i}`, d);
    const hostsOf = async (i: number): Promise<Set<string>> =>
      new Set((await cl.fileInfo(`away/${i}`, { devices: true })).devids!.map((d) => (d <= 2 ? 'node1' : 'node2')));
    // Meanwhile each file gets its second copy on node1 (a "desperate" copy: the only host there is),
    // and stays queued for a copy on a second host, its next try an hour away.
    await waitFor('a second copy of every file, on node1', async () => {
      for (let i = 0; i < data.length; i++) if ((await cl.fileInfo(`away/${i}`)).devcount < 2) return false;
      return true;
    });
    for (let i = 0; i < data.length; i++) assert.deepEqual([...await hostsOf(i)], ['node1']);
    assert.equal((await c.stores[0].queueDepths()).replicate, data.length);
    await c.startNode(1);
    await waitFor('every file on both hosts, two copies', async () => {
      for (let i = 0; i < data.length; i++) {
        if ((await hostsOf(i)).size !== 2 || (await cl.fileInfo(`away/${i}`)).devcount !== 2) return false;
      }
      return true;
    }, 30_000);
    for (const [i, d] of data.entries()) assert.ok((await cl.getBuffer(`away/${i}`)).equals(d));
  });
});
