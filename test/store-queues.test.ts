// MetadataStore on both engines: replicate/delete queues, leases, claims shared
// by two stores on one database, fid allocation behind a foreign fid, and the
// index range scan behind listKeys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine, rawSql } from './helpers/engines';
import { supportsInsertReturning } from '../src/store/mysql/dialect';

test('INSERT … RETURNING is used where the server has it: MariaDB 10.5 and later, not MySQL', () => {
  for (const v of ['10.5.0-MariaDB', '10.11.19-MariaDB-0+deb12u1', '11.4.2-MariaDB-log', '5.5.5-10.6.12-MariaDB']) {
    assert.equal(supportsInsertReturning(v), true, v);
  }
  for (const v of ['10.4.32-MariaDB', '10.3.39-MariaDB-0+deb10u1', '8.0.36', '8.4.0', '5.7.44-log', 'garbage']) {
    assert.equal(supportsInsertReturning(v), false, v);
  }
});

forEachEngine((engine, env) => {
  test('replicate queue: upsert keeps the earlier nexttry; claim leases; retry and finish', async () => {
    const s = await env.open();
    await s.enqueueReplicate(10, null, 100);
    await s.enqueueReplicate(10, 7, 50);
    await s.enqueueReplicate(10, null, 80);
    await s.enqueueReplicate(11, null, 200);
    assert.deepEqual(await s.claimReplicateJobs(99, 10, 30), [{ fid: 10, nexttry: 50, fromdevid: 7, failcount: 0, flags: 0 }]);
    assert.deepEqual(await s.claimReplicateJobs(100, 10, 30), [], 'a leased job is not handed out again');
    assert.deepEqual((await s.claimReplicateJobs(129, 10, 30)).map((j) => j.fid), [10], 'lease ran out at 99+30');
    await s.retryReplicate(10, 500, 3);
    assert.deepEqual((await s.claimReplicateJobs(300, 10, 1000)).map((j) => j.fid), [11]);
    assert.deepEqual(await s.claimReplicateJobs(500, 10, 30), [{ fid: 10, nexttry: 500, fromdevid: 7, failcount: 3, flags: 0 }]);
    assert.deepEqual(await s.queueDepths(), { replicate: 2, delete: 0 });
    await s.finishReplicate(10);
    await s.finishReplicate(11);
    assert.deepEqual(await s.queueDepths(), { replicate: 0, delete: 0 });
  });

  test('delete queue: claim, lease, retry, finish', async () => {
    const s = await env.open();
    await s.enqueueDelete(5, 10);
    await s.enqueueDelete(6, 20);
    await s.enqueueDelete(5, 30);
    assert.deepEqual(await s.claimDeleteJobs(15, 10, 100), [{ fid: 5, nexttry: 10, failcount: 0 }]);
    assert.deepEqual(await s.claimDeleteJobs(20, 1, 100), [{ fid: 6, nexttry: 20, failcount: 0 }]);
    assert.deepEqual(await s.claimDeleteJobs(20, 10, 100), []);
    await s.retryDelete(5, 40, 1);
    assert.deepEqual(await s.claimDeleteJobs(40, 10, 100), [{ fid: 5, nexttry: 40, failcount: 1 }]);
    await s.finishDelete(5);
    assert.deepEqual(await s.queueDepths(), { replicate: 0, delete: 1 });
  });

  test('two stores on one database claiming at once never get the same job', async () => {
    const db = await env.database();
    const [a, b] = [await db.open(), await db.open()];
    const total = 120;
    for (let fid = 1; fid <= total; fid++) {
      await a.enqueueReplicate(fid, null, 0);
      await a.enqueueDelete(fid, 0);
    }
    const drain = async (claim: () => Promise<Array<{ fid: number }>>): Promise<number[]> => {
      const got: number[] = [];
      for (;;) {
        const jobs = await claim();
        if (jobs.length === 0) return got;
        got.push(...jobs.map((j) => j.fid));
      }
    };
    for (const kind of ['replicate', 'delete'] as const) {
      const claimer = (s: typeof a) => () =>
        kind === 'replicate' ? s.claimReplicateJobs(1000, 7, 3600) : s.claimDeleteJobs(1000, 7, 3600);
      const results = await Promise.all([drain(claimer(a)), drain(claimer(b)), drain(claimer(a)), drain(claimer(b))]);
      const all = results.flat();
      assert.equal(all.length, total, `${kind}: every job claimed exactly once`);
      assert.equal(new Set(all).size, total, `${kind}: no job claimed twice`);
    }
  });

  test('fid allocation skips fids already used by files the counter does not know', async () => {
    const db = await env.database();
    const s = await db.open();
    // On MariaDB the new fid and its check are one INSERT … RETURNING: this test is that path's.
    if (engine === 'mysql') {
      const version = String(((await rawSql(db, 'SELECT VERSION() AS v')) as Array<{ v: string }>)[0]?.v ?? '');
      assert.equal((s as unknown as { db: { dialect: { insertReturning: boolean } } }).db.dialect.insertReturning, supportsInsertReturning(version), version);
    }
    const first = await s.createTempfile({ dmid: 1, dkey: 'a', classid: 0, devids: '1', createtime: 1 });
    // Another writer (the original tracker after a restart, an import) put files right above our counter.
    for (const fid of [first + 1, first + 2, first + 3]) {
      await rawSql(db, `INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (${fid}, 1, 'x${fid}', 1, 0, 1)`);
    }
    await rawSql(db, `INSERT INTO file_to_delete2 (fid, nexttry) VALUES (${first + 9}, 0)`);
    if (engine === 'mysql') await rawSql(db, `ALTER TABLE tempfile AUTO_INCREMENT = ${first + 1}`);
    else await rawSql(db, `UPDATE sqlite_sequence SET seq = ${first} WHERE name = 'tempfile'`);
    const next = await s.createTempfile({ dmid: 1, dkey: 'b', classid: 0, devids: '1', createtime: 1 });
    assert.ok(next > first + 9, `got fid ${next}, which collides with fids in use`);
    assert.equal((await s.listStaleTempfiles(2, 10)).length, 2, 'no placeholder tempfile rows left behind');
  });

  test('fid allocation also moves past fids still queued for replication (one rule on both engines)', async () => {
    const db = await env.database();
    const s = await db.open();
    const first = await s.createTempfile({ dmid: 1, dkey: 'a', classid: 0, devids: '1', createtime: 1 });
    // The counter collides with a file, and a replication job of a fid further up is still queued.
    await rawSql(db, `INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (${first + 1}, 1, 'x', 1, 0, 1)`);
    await rawSql(db, `INSERT INTO file_to_replicate (fid, nexttry, fromdevid, failcount, flags) VALUES (${first + 7}, 0, NULL, 0, 0)`);
    if (engine === 'mysql') await rawSql(db, `ALTER TABLE tempfile AUTO_INCREMENT = ${first + 1}`);
    else await rawSql(db, `UPDATE sqlite_sequence SET seq = ${first} WHERE name = 'tempfile'`);
    const next = await s.createTempfile({ dmid: 1, dkey: 'b', classid: 0, devids: '1', createtime: 1 });
    assert.ok(next > first + 7, `got fid ${next}: a queued replication of fid ${first + 7} would copy the new file under it`);
  });

  test('listKeys is an index range scan on (dmid, dkey)', async () => {
    const db = await env.database();
    await db.open();
    if (engine === 'sqlite') {
      const plan = (await rawSql(db,
        "EXPLAIN QUERY PLAN SELECT dkey FROM file WHERE dmid = 1 AND dkey >= 'a' AND dkey < 'b' ORDER BY dkey LIMIT 10",
      )) as Array<{ detail: string }>;
      const detail = plan.map((p) => p.detail).join(' | ');
      assert.match(detail, /SEARCH file USING (COVERING )?INDEX \S+ \(dmid=\? AND dkey>\? AND dkey<\?\)/, detail);
      assert.doesNotMatch(detail, /TEMP B-TREE/, 'no sort step: the index gives the order');
    } else {
      for (let i = 0; i < 50; i++) {
        await rawSql(db, `INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (${i + 1}, 1, 'k${i}', 1, 0, 1)`);
      }
      await rawSql(db, 'ANALYZE TABLE file');
      const plan = (await rawSql(db,
        "EXPLAIN SELECT CAST(dkey AS BINARY) AS dkey FROM file WHERE dmid = 1 AND dkey >= 'k1' AND dkey < 'k2' ORDER BY file.dkey LIMIT 10",
      )) as Array<{ type: string; key: string; Extra: string | null }>;
      assert.equal(plan[0].key, 'dkey', JSON.stringify(plan));
      assert.equal(plan[0].type, 'range', JSON.stringify(plan));
      assert.doesNotMatch(plan[0].Extra ?? '', /filesort/, JSON.stringify(plan));
    }
  });

  test('replicate queue: a job re-queued while claimed keeps its lease and comes due again when it finishes', async () => {
    const db = await env.database();
    const [a, b] = [await db.open(), await db.open()];
    const now = Math.floor(Date.now() / 1000);
    await a.enqueueReplicate(20, null, 0);
    await a.enqueueReplicate(21, null, 0);
    assert.deepEqual((await a.claimReplicateJobs(now, 10, 120)).map((j) => j.fid), [20, 21]);
    // Another tracker re-queues both (updateclass, a dead device): neither may be handed out while claimed.
    await b.enqueueReplicate(20, 3, 0);
    await b.enqueueReplicate(21, null, 0);
    assert.deepEqual(await b.claimReplicateJobs(now, 10, 120), [], 'a claimed job was handed out again');
    // The re-queue is remembered: finishing runs it once more, retrying runs it now.
    await a.finishReplicate(20);
    await a.retryReplicate(21, now + 600, 1);
    // Both are due at the store's clock now, which may have passed `now` by a second meanwhile.
    const again = await b.claimReplicateJobs(now + 60, 10, 120);
    assert.deepEqual(again.map((j) => [j.fid, j.fromdevid]), [[20, 3], [21, null]]);
    await b.finishReplicate(20);
    await b.finishReplicate(21);
    assert.deepEqual(await a.queueDepths(), { replicate: 0, delete: 0 }, 'a job without a re-queue is removed');
  });

  test('create_close hand-off: the job is committed claimed, and the copy that completes it finishes it in one step', async () => {
    const db = await env.database();
    const [a, b] = [await db.open(), await db.open()];
    const { dmid } = await a.createDomain('handoff');
    const now = Math.floor(Date.now() / 1000);
    const commit = async (key: string, lease: number): Promise<number> => {
      const fid = await a.createTempfile({ dmid, dkey: key, classid: 0, devids: '1,2', createtime: now });
      await a.commitFile({ fid, dmid, dkey: key, length: 10, classid: 0, devids: [1], replicateNexttry: 0, replicateLeaseEnd: lease });
      return fid;
    };
    const plain = await commit('plain', now + 120);
    const requeued = await commit('requeued', now + 120);
    const deleted = await commit('deleted', now + 120);
    const orphan = await commit('orphan', now + 30);
    // Claimed in the commit: no tracker may take the jobs while the lease runs...
    assert.deepEqual(await b.claimReplicateJobs(now + 20, 10, 120), [], 'a job claimed by create_close was handed out');
    assert.equal((await a.queueDepths()).replicate, 4);
    // ...and when it ends (the tracker died before copying), any tracker may.
    assert.deepEqual((await b.claimReplicateJobs(now + 31, 10, 120)).map((j) => j.fid), [orphan]);
    await b.finishReplicate(orphan);

    assert.equal(await a.addFileOnAndFinish(plain, 2), 'finished');
    assert.deepEqual(await a.fileDevids(plain), [1, 2]);
    assert.equal((await a.getFile(plain))?.devcount, 2);
    // Re-queued while it ran (updateclass on another tracker): the copy is recorded and the job comes due again.
    await b.enqueueReplicate(requeued, null, 0);
    assert.equal(await a.addFileOnAndFinish(requeued, 2), 'finished');
    assert.equal((await a.getFile(requeued))?.devcount, 2);
    assert.deepEqual((await b.claimReplicateJobs(now + 100, 10, 120)).map((j) => j.fid), [requeued], 'the re-check was lost');
    await b.finishReplicate(requeued);
    // Deleted while it was copied: reported, and the job left to the caller.
    await a.deleteFileByKey(dmid, 'deleted');
    assert.equal(await a.addFileOnAndFinish(deleted, 2), 'gone');
    await a.removeFileOn(deleted, 2);
    await a.finishReplicate(deleted);
    assert.deepEqual(await a.queueDepths(), { replicate: 0, delete: 1 });
  });

  test('replicate_now: deferred jobs nobody runs come due now, and are counted', async () => {
    const s = await env.open();
    const now = Math.floor(Date.now() / 1000);
    await s.enqueueReplicate(30, null, now + 1000);
    await s.enqueueReplicate(31, null, now + 5000);
    await s.enqueueReplicate(32, null, 0);
    assert.deepEqual((await s.claimReplicateJobs(now, 10, 120)).map((j) => j.fid), [32]);
    assert.equal(await s.replicateNow(now), 2, 'the claimed job is not deferred work');
    assert.deepEqual((await s.claimReplicateJobs(now, 10, 120)).map((j) => j.fid), [30, 31]);
    assert.equal(await s.replicateNow(now), 0);
  });

  test('dead-device reaping: fids on a device are queued, their rows there dropped, devcount updated, in batches', async () => {
    const db = await env.database();
    const [a, b] = [await db.open(), await db.open()];
    const fids: number[] = [];
    for (let i = 0; i < 7; i++) {
      const fid = await a.createTempfile({ dmid: 1, dkey: `k${i}`, classid: 0, devids: '1,2', createtime: 1 });
      await a.commitFile({ fid, dmid: 1, dkey: `k${i}`, length: 1, classid: 0, devids: i < 5 ? [1, 2] : [2, 3] });
      fids.push(fid);
    }
    assert.deepEqual((await a.listFidsOnDevice(1, 100)).sort((x, y) => x - y), fids.slice(0, 5));
    // Two trackers reaping dev1 at once never take the same fid, and together take them all.
    const reaped = [
      ...(await Promise.all([a.reapDeviceFids(1, 2, 50), b.reapDeviceFids(1, 2, 50)])).flat(),
      ...(await a.reapDeviceFids(1, 2, 50)),
    ];
    assert.equal(new Set(reaped).size, reaped.length, `a fid reaped twice: ${reaped}`);
    assert.deepEqual(reaped.sort((x, y) => x - y), fids.slice(0, 5));
    assert.deepEqual(await b.reapDeviceFids(1, 2, 50), [], 'the device holds nothing more');
    assert.deepEqual(await a.listFidsOnDevice(1, 100), []);
    for (const fid of fids.slice(0, 5)) {
      assert.deepEqual(await a.fileDevids(fid), [2]);
      assert.equal((await a.getFile(fid))?.devcount, 1);
    }
    assert.equal((await a.getFile(fids[5]))?.devcount, 2, 'a file not on the device is untouched');
    assert.deepEqual((await a.claimReplicateJobs(49, 10, 10)).map((j) => j.fid), [], 'queued at the nexttry given');
    assert.deepEqual((await a.claimReplicateJobs(50, 10, 10)).map((j) => j.fid).sort((x, y) => x - y), fids.slice(0, 5));
  });
});
