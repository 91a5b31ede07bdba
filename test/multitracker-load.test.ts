/**
 * Two trackers on one database under load: 500 files stored through both at
 * once all reach mindevcount on distinct hosts with the replication queue
 * drained; deletes through B (also racing A's replication) clear the disks;
 * and closing tracker A mid-run leaves a two-tracker client storing through
 * B, with A's queued work finished by B's workers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { forEachEngine } from './helpers/engines';
import { exists, pool, startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';
import { MogError } from '../src/client';
import type { StoreResult } from '../src/client';

/** Distinct, checkable content per index (1..8 KiB). */
function body(i: number): Buffer {
  const seed = createHash('sha256').update(String(i)).digest();
  const len = 1024 + (i % 8) * 1024;
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = seed[k % 32] ^ (k & 0xff);
  return b;
}

const pad = (i: number): string => String(i).padStart(4, '0');

forEachEngine((engine) => {
  let c: MultiCluster;
  before(async () => { c = await startMultiCluster({ engine }); });
  after(async () => { await c?.stop(); });

  /** Copies of fid per the database, checked against the disks: devids, on distinct hosts, with the bytes. */
  async function checkReplicated(r: StoreResult, len: number): Promise<void> {
    const store = c.stores[1];
    const devids = await store.fileDevids(r.fid);
    assert.equal(new Set(devids).size, devids.length, `fid ${r.fid} has duplicate file_on rows: ${devids}`);
    assert.equal(devids.length, 2, `fid ${r.fid} (${r.key}) is on devids ${devids}, wanted 2 copies`);
    assert.equal(new Set(devids.map((d) => c.hostOf.get(d))).size, 2, `fid ${r.fid} copies share a host: ${devids}`);
    const row = await store.getFile(r.fid);
    assert.equal(row?.devcount, 2, `fid ${r.fid} devcount column`);
    for (const d of devids) assert.equal((await fs.stat(c.fidFile(d, r.fid))).size, len, `fid ${r.fid} on dev${d}`);
  }

  test('500 files stored through both trackers at once reach 2 copies on distinct hosts; the queue drains', async () => {
    const a = c.client([0]);
    const b = c.client([1]);
    const idx = Array.from({ length: 500 }, (_, i) => i);
    const results = await pool(idx, 16, (i) => (i % 2 ? b : a).storeBuffer(`load/${pad(i)}`, body(i)));
    assert.equal(new Set(results.map((r) => r.fid)).size, 500, 'two stores got the same fid');

    await waitFor('the replication queue to drain', async () => (await c.stores[0].queueDepths()).replicate === 0, 90_000);
    // Drained means done: no file may be left short of its copies.
    for (const [i, r] of results.entries()) await checkReplicated(r, body(i).length);

    // Every file reads back through the tracker that did not store it.
    await pool(idx.filter((i) => i % 10 === 0), 8, async (i) => {
      const got = await (i % 2 ? a : b).getBuffer(`load/${pad(i)}`);
      assert.ok(got.equals(body(i)), `load/${pad(i)} read back wrong`);
    });
    let listed = 0;
    for await (const k of b.keys('load/', { pageSize: 100 })) {
      assert.equal(k, `load/${pad(listed)}`);
      listed++;
    }
    assert.equal(listed, 500);

    // Deletes through B: the files leave the disks and the database.
    await pool(idx, 16, (i) => b.delete(`load/${pad(i)}`));
    assert.deepEqual((await a.listKeys('load/')).keys, []);
    await waitFor('every deleted copy to leave the disks', async () => {
      for (const r of results) {
        if ((await c.stores[0].fileDevids(r.fid)).length) return false;
      }
      return (await c.stores[0].queueDepths()).delete === 0;
    }, 60_000);
    for (const r of results) {
      for (const d of [1, 2, 3, 4]) assert.ok(!(await exists(c.fidFile(d, r.fid))), `fid ${r.fid} still on dev${d}`);
    }
  });

  test('files deleted through B while A replicates them leave no copy behind', async () => {
    const a = c.client([0]);
    const b = c.client([1]);
    const idx = Array.from({ length: 100 }, (_, i) => i);
    const fids = await pool(idx, 8, async (i) => {
      const r = await a.storeBuffer(`race/${pad(i)}`, body(i));
      await b.delete(`race/${pad(i)}`);
      return r.fid;
    });
    await waitFor('queues to drain and file_on rows to go', async () => {
      const q = await c.stores[1].queueDepths();
      if (q.replicate || q.delete) return false;
      for (const fid of fids) if ((await c.stores[1].fileDevids(fid)).length) return false;
      return true;
    }, 60_000);
    // A copy that landed after the delete ran must have been cleaned up too.
    const left = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const fid of fids) for (const d of [1, 2, 3, 4]) if (await exists(c.fidFile(d, fid))) out.push(`fid ${fid} on dev${d}`);
      return out;
    };
    await waitFor('no copy of a deleted fid left on any disk', async () => (await left()).length === 0, 20_000)
      .catch(async (e: Error) => assert.fail(`${e.message}; left: ${(await left()).slice(0, 10).join(', ')}`));
  });

  /** Stores the failover test had to retry because A closed during their create_close. */
  let cutOff: string[] | null = null;

  /**
   * Stores `n` keys through a client that lists A first, closing tracker A
   * once `killAfter` stores are done. Returns each store's result or error.
   */
  async function storeWhileAClosing(prefix: string, n: number, killAfter: number, retryAmbiguous: boolean) {
    const cl = c.client([0, 1], { tracker: { ordered: true } });
    const idx = Array.from({ length: n }, (_, i) => i);
    let done = 0;
    let killed: Promise<void> | null = null;
    const ambiguous: string[] = [];
    const results = await pool(idx, 8, async (i) => {
      const key = `${prefix}/${pad(i)}`;
      let r: StoreResult;
      try {
        r = await cl.storeBuffer(key, body(i));
      } catch (e) {
        // A create_close cut off by the close: it may or may not have run.
        const code = e instanceof MogError ? e.code : '';
        if (!retryAmbiguous || (code !== 'tracker_io' && code !== 'tracker_timeout')) throw e;
        ambiguous.push(`${key}: ${(e as Error).message}`);
        r = await cl.storeBuffer(key, body(i));
      }
      if (++done === killAfter) killed = c.closeTracker(0);
      return r;
    });
    assert.ok(killed, 'tracker A was never closed');
    await killed;
    assert.equal(c.trackers[0], null);
    assert.equal(cl.tracker.lastTracker, c.addrs[1], 'the last stores should have gone through B');
    return { results, ambiguous };
  }

  test('tracker A closed mid-run: stores fail over to B; B reads them all and finishes replicating them', async () => {
    const { results, ambiguous } = await storeWhileAClosing('failover', 200, 60, true);
    cutOff = ambiguous;
    // Only requests in flight on A when it went can have been cut off.
    assert.ok(ambiguous.length <= 8, `${ambiguous.length} ambiguous stores: ${ambiguous.join('; ')}`);

    const b = c.client([1]);
    await pool(results, 8, async (r, i) => {
      assert.ok((await b.getBuffer(r.key)).equals(body(i)), r.key);
      assert.equal((await b.fileInfo(r.key)).fid, r.fid);
    });
    // Replication work A had queued or claimed is finished by B.
    await waitFor('B to finish the replication queue', async () => (await c.stores[1].queueDepths()).replicate === 0, 30_000);
    for (const [i, r] of results.entries()) await checkReplicated(r, body(i).length);
  });

  // When the tracker a create_close went to goes away mid-request, the client
  // sends it again to tracker B (the tempfile row is in the shared database)
  // and accepts no_temp_file when the key already points at its fid.
  test('tracker A closed mid-run: no store needs a retry by the caller', () => {
    assert.ok(cutOff, 'the failover test did not run');
    assert.deepEqual(cutOff, []);
  });
});
