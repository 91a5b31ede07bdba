/**
 * A device marked dead (`mogadm device mark HOST DEVID dead`, i.e. set_state
 * state=dead): its copies are gone for good. The tracker must stop handing
 * out paths on it at once, and (as the original's reaper does for dead
 * devices) drop its file_on rows and re-replicate every file it held, so each
 * file is back to mindevcount copies on distinct hosts without it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { forEachEngine } from './helpers/engines';
import { pool, startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';

const N = 40;
const DEAD = 1;

forEachEngine((engine) => {
  let c: MultiCluster;
  const data = Array.from({ length: N }, () => randomBytes(20_000));
  let onDead: number[] = [];

  before(async () => {
    c = await startMultiCluster({ engine });
    const cl = c.client([0]);
    await pool(data, 8, (d, i) => cl.storeBuffer(`dead/${i}`, d));
    await waitFor('every file on 2 hosts', async () => {
      if ((await c.stores[0].queueDepths()).replicate) return false;
      for (let i = 0; i < N; i++) if ((await cl.fileInfo(`dead/${i}`)).devcount !== 2) return false;
      return true;
    }, 60_000);
    for (let i = 0; i < N; i++) {
      if ((await cl.fileInfo(`dead/${i}`, { devices: true })).devids!.includes(DEAD)) onDead.push(i);
    }
    assert.ok(onDead.length > 0, `no file landed on dev${DEAD}`);
    await c.admin(0).setState('node1', DEAD, 'dead');
  });
  after(async () => { await c?.stop(); });

  test('get_paths stops offering the dead device; every file still reads', async () => {
    const cl = c.client([1]);
    await waitFor(`get_paths on both trackers to leave out dev${DEAD}`, async () => {
      for (const t of [0, 1]) {
        const ct = c.client([t]);
        for (const i of onDead) {
          const paths = await ct.getPaths(`dead/${i}`, { noverify: true });
          if (paths.some((p) => p.includes(`/dev${DEAD}/`))) return false;
        }
      }
      return true;
    }, 10_000);
    for (const i of onDead) assert.ok((await cl.getBuffer(`dead/${i}`)).equals(data[i]), `dead/${i}`);
  });

  // As the original's Reaper worker does for each dead device: enqueue each
  // fid for replication, then forget its file_on row (workers/deadreaper.ts).
  test('files that were on the dead device are re-replicated to mindevcount on distinct live hosts', async () => {
    const cl = c.client([1]);
    const devidsOf = async (i: number): Promise<number[]> => (await cl.fileInfo(`dead/${i}`, { devices: true })).devids!;
    await waitFor(`files from dev${DEAD} to have 2 copies elsewhere`, async () => {
      for (const i of onDead) {
        const devids = (await devidsOf(i)).filter((d) => d !== DEAD);
        if (devids.length < 2 || new Set(devids.map((d) => c.hostOf.get(d))).size < 2) return false;
      }
      return true;
    }, 20_000).catch(async (e: Error) => {
      const now = await Promise.all(onDead.slice(0, 5).map(async (i) => `dead/${i}: ${await devidsOf(i)}`));
      assert.fail(`${e.message}; e.g. ${now.join('; ')}`);
    });
    // The dead device's rows are dropped, as the original's reaper does.
    for (const i of onDead) assert.ok(!(await devidsOf(i)).includes(DEAD), `dead/${i} still lists dev${DEAD}`);
    for (const i of onDead) assert.ok((await cl.getBuffer(`dead/${i}`)).equals(data[i]));
  });
});
