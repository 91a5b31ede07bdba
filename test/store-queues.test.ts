// MetadataStore on both engines: replicate/delete queues, leases, claims shared
// by two stores on one database, fid allocation behind a foreign fid, and the
// index range scan behind listKeys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { forEachEngine, TestDatabase } from './helpers/engines';

/** Runs raw SQL on the test database, as another program (the original tracker, an operator) would. */
async function rawSql(db: TestDatabase, sql: string): Promise<unknown[]> {
  if (db.engine === 'sqlite') {
    const conn = new Database(db.dsn.slice('sqlite:'.length));
    try {
      const st = conn.prepare(sql);
      return st.reader ? st.all() : [st.run()];
    } finally {
      conn.close();
    }
  }
  const c = await db.sql();
  const [rows] = await c.query(sql);
  return Array.isArray(rows) ? rows : [rows];
}

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
});
