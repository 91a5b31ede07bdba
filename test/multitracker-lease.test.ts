/**
 * Replication jobs are leased to the tracker that claims them (their nexttry
 * pushed forward in the shared queue table). When that tracker shuts down,
 * the jobs it claimed but never started must go back to the queue, so the
 * other trackers finish them promptly instead of after the lease runs out.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from './helpers/engines';
import { pool, startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';

forEachEngine((engine) => {
  let c: MultiCluster;
  // Tracker A copies one file at a time, so it holds claimed jobs it has not started.
  before(async () => { c = await startMultiCluster({ engine, perTracker: [{ replicateJobs: 1 }] }); });
  after(async () => { await c?.stop(); });

  test('jobs claimed by a tracker that closes are finished by the other one within seconds', async () => {
    // Tracker A's database is slow to answer its replicator, so A holds
    // claimed jobs it has not started yet when it closes.
    const storeA = c.stores[0];
    const claimed = new Set<number>();
    const started = new Set<number>();
    const claim = storeA.claimReplicateJobs.bind(storeA);
    storeA.claimReplicateJobs = async (now, limit, lease) => {
      const jobs = await claim(now, limit, lease);
      for (const j of jobs) claimed.add(j.fid);
      return jobs;
    };
    // The replicator's first read of each job (file, copies and checksum in one query).
    const readJob = storeA.getFileForReplication.bind(storeA);
    storeA.getFileForReplication = async (fid) => {
      if (claimed.has(fid)) {
        started.add(fid);
        await new Promise((r) => setTimeout(r, 200));
      }
      return readJob(fid);
    };
    const a = c.client([0]);
    const idx = Array.from({ length: 150 }, (_, i) => i);
    const stored = await pool(idx, 8, (i) => a.storeBuffer(`lease/${i}`, Buffer.alloc(2000, i)));
    await c.closeTracker(0);
    const held = [...claimed].filter((f) => !started.has(f));
    assert.ok(held.length > 0, 'tracker A held no unstarted job when it closed; the test proves nothing');
    await waitFor('B to drain the replication queue', async () => (await c.stores[1].queueDepths()).replicate === 0, 20_000);
    for (const r of stored) {
      const devids = await c.stores[1].fileDevids(r.fid);
      assert.equal(new Set(devids.map((d) => c.hostOf.get(d))).size, 2, `${r.key} on ${devids}`);
    }
  });

  // The original serialises replication of one fid across trackers with a
  // database lock (should_begin_replicating_fidid); ours records claims in
  // the database (mogfs_replicate_claim), and a re-enqueue (updateclass) of
  // a claimed job asks for a re-check after the running copy instead of
  // cutting its lease short, so neither tracker starts a second copy.
  test('a job re-queued while its fid is being copied is not copied twice', async () => {
    await c.admin(1).createClass('default', 'pair', { mindevcount: 2 });
    const b = c.client([1]);
    // B (the tracker left) copies the file and is slow to record the copy
    // (create_close handed the job to its replicator, or it claimed it)...
    const storeB = c.stores[1];
    const fileDevids = storeB.fileDevids.bind(storeB);
    let stalled = false;
    let target = -1;
    const stall = async (fid: number): Promise<void> => {
      if (fid === target && !stalled) {
        stalled = true;
        await new Promise((res) => setTimeout(res, 1500));
      }
    };
    const createTempfile = storeB.createTempfile.bind(storeB);
    storeB.createTempfile = async (t) => {
      const fid = await createTempfile(t);
      if (t.dkey === 'lease/requeued') target = fid;
      return fid;
    };
    const copies: number[] = [];
    const addFileOn = storeB.addFileOn.bind(storeB);
    storeB.addFileOn = async (fid, devid) => {
      if (fid === target) copies.push(devid);
      await stall(fid);
      return addFileOn(fid, devid);
    };
    const addFileOnAndFinish = storeB.addFileOnAndFinish.bind(storeB);
    storeB.addFileOnAndFinish = async (fid, devid) => {
      if (fid === target) copies.push(devid);
      await stall(fid);
      return addFileOnAndFinish(fid, devid);
    };
    const r = await b.storeBuffer('lease/requeued', Buffer.alloc(5000, 7));
    assert.equal(target, r.fid);
    await waitFor('B to make the copy', async () => stalled, 10_000);
    // ...while the file's class changes, which queues the fid again.
    await b.updateClass('lease/requeued', 'pair');
    await waitFor('replication to settle', async () => (await storeB.queueDepths()).replicate === 0, 20_000);
    await new Promise((res) => setTimeout(res, 2000));
    assert.equal((await storeB.queueDepths()).replicate, 0);
    // One copy was missing, so one copy should have been made (whichever device it went to).
    assert.equal(copies.length, 1, `copies made to devids ${copies}; now on ${await fileDevids(r.fid)}`);
    assert.equal((await fileDevids(r.fid)).length, 2);
  });
});
