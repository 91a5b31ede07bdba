/**
 * Device states through a real cluster, as the original's DeviceState
 * table has them: readonly still serves reads but takes no new files and no
 * replicas; down is skipped for reads (get_paths leaves it out) and writes
 * until it is back, and then serves its copies again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { forEachEngine } from './helpers/engines';
import { pool, startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';
import { LAYOUT_TTL_MS } from '../src/tracker/layout';

/** Another tracker sees a state change once its cached layout expires, as in the original. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, LAYOUT_TTL_MS + 300));

forEachEngine((engine) => {
  let c: MultiCluster;
  before(async () => { c = await startMultiCluster({ engine }); });
  after(async () => { await c?.stop(); });

  async function storeSome(prefix: string, n: number): Promise<Map<string, Buffer>> {
    const cl = c.client([0, 1]);
    const out = new Map<string, Buffer>();
    await pool(Array.from({ length: n }, (_, i) => i), 6, async (i) => {
      const d = randomBytes(2_000 + i);
      await cl.storeBuffer(`${prefix}/${i}`, d);
      out.set(`${prefix}/${i}`, d);
    });
    await waitFor('replication', async () => {
      if ((await c.stores[0].queueDepths()).replicate) return false;
      for (const k of out.keys()) if ((await cl.fileInfo(k)).devcount < 2) return false;
      return true;
    }, 30_000);
    return out;
  }

  test('readonly: no new files and no replicas, its copies still read', async () => {
    const cl = c.client([0, 1]);
    const old = await storeSome('ro-old', 20);
    const onDev = [...old.keys()];
    await c.admin(0).setState('node1', 1, 'readonly');
    await settle();
    const fresh = await storeSome('ro-new', 30);
    for (const k of fresh.keys()) {
      assert.ok(!(await cl.fileInfo(k, { devices: true })).devids!.includes(1), `${k} landed on readonly dev1`);
    }
    for (const k of onDev) assert.ok((await cl.getBuffer(k)).equals(old.get(k)!), k);
    const paths = await Promise.all([...old.keys()].map((k) => cl.getPaths(k, { noverify: true })));
    assert.ok(paths.flat().some((p) => p.includes('/dev1/')), 'readonly dev1 is still offered for reads');
    await c.admin(0).setState('node1', 1, 'alive');
  });

  test('down: left out of get_paths and of new files until it is back', async () => {
    const cl = c.client([0, 1]);
    const old = await storeSome('down-old', 20);
    const on3: string[] = [];
    for (const k of old.keys()) if ((await cl.fileInfo(k, { devices: true })).devids!.includes(3)) on3.push(k);
    assert.ok(on3.length > 0, 'no file on dev3');
    await c.admin(1).setState('node2', 3, 'down');
    await settle();
    for (const t of [0, 1]) {
      const ct = c.client([t]);
      for (const k of on3) {
        const paths = await ct.getPaths(k, { noverify: true });
        assert.ok(!paths.some((p) => p.includes('/dev3/')), `get_paths offers down dev3 for ${k}: ${paths}`);
        assert.ok((await ct.getBuffer(k)).equals(old.get(k)!), k);
      }
    }
    const fresh = await storeSome('down-new', 30);
    for (const k of fresh.keys()) {
      assert.ok(!(await cl.fileInfo(k, { devices: true })).devids!.includes(3), `${k} landed on down dev3`);
    }
    await c.admin(1).setState('node2', 3, 'alive');
    await waitFor('dev3 offered again', async () => {
      const paths = await Promise.all(on3.map((k) => cl.getPaths(k, { noverify: true, pathcount: 4 })));
      return paths.flat().some((p) => p.includes('/dev3/'));
    }, 10_000);
  });
});
