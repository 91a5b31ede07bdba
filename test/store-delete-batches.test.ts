// The delete worker's batched store steps on both engines: deleteJobStates
// (one query for a claimed batch) and finishDeletedFiles (one transaction,
// one round trip on MySQL, for several finished jobs), each fid by the rule
// of its one-fid form: a fid that names a file again keeps its rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine, rawSql } from './helpers/engines';
import type { TestDatabase } from './helpers/engines';
import type { MetadataStore } from '../src/store';

/** A deleted fid waiting for the delete worker: its job and the rows of its copies. */
async function queued(s: MetadataStore, fid: number, devids: number[]): Promise<void> {
  await s.enqueueDelete(fid, 0);
  for (const devid of devids) await s.addFileOn(fid, devid);
}

/** A fid that names a file again while a delete of it is still queued. */
async function liveAgain(s: MetadataStore, fid: number, devids: number[]): Promise<void> {
  const dkey = `live/${fid}`;
  await s.createTempfile({ fid, dmid: 1, dkey, classid: 0, devids: devids.join(','), createtime: 1 });
  await s.commitFile({ fid, dmid: 1, dkey, length: 1, classid: 0, devids });
  await s.enqueueDelete(fid, 0);
}

async function fidsIn(db: TestDatabase, table: 'file_on' | 'file_to_delete2'): Promise<number[]> {
  const rows = (await rawSql(db, `SELECT DISTINCT fid FROM ${table} ORDER BY fid`)) as { fid: number | string }[];
  return rows.map((r) => Number(r.fid));
}

forEachEngine((_engine, env) => {
  test('a batch of mixed fids: live, with copies, without copies, unknown, repeated', async () => {
    const db = await env.database();
    const s = await db.open();
    await liveAgain(s, 10, [1, 2]);
    await queued(s, 11, [3, 1]);
    await queued(s, 13, []);
    await queued(s, 14, [2]); // not in the batch
    const batch = [11, 10, 12, 13, 11];

    const states = await s.deleteJobStates(batch);
    assert.deepEqual([...states.keys()].sort((a, b) => a - b), [10, 11, 12, 13]);
    assert.deepEqual(states.get(10), { live: true, devids: [1, 2] });
    assert.deepEqual(states.get(11), { live: false, devids: [1, 3] });
    assert.deepEqual(states.get(12), { live: false, devids: [] }, 'an unknown fid: nothing to do, no error');
    assert.deepEqual(states.get(13), { live: false, devids: [] });
    assert.deepEqual(await s.deleteJobState(11), states.get(11), 'the one-fid form agrees');
    assert.equal((await s.deleteJobStates([])).size, 0);

    const gone = await s.finishDeletedFiles(batch);
    assert.deepEqual([...gone].sort((a, b) => a - b), [11, 12, 13], 'all but the live fid');
    assert.ok(await s.getFile(10), 'the live file is untouched');
    assert.deepEqual(await s.fileDevids(10), [1, 2]);
    assert.deepEqual(await s.fileDevids(11), []);
    assert.deepEqual(await s.fileDevids(14), [2]);
    assert.deepEqual(await fidsIn(db, 'file_to_delete2'), [10, 14], 'the live fid keeps its job for the worker to drop');
    assert.equal((await s.finishDeletedFiles([])).size, 0);

    // The one-fid form is the same rule.
    assert.equal(await s.finishDeletedFile(10), false);
    assert.equal(await s.finishDeletedFile(14), true);
    assert.deepEqual(await fidsIn(db, 'file_on'), [10]);
    assert.deepEqual(await fidsIn(db, 'file_to_delete2'), [10]);
  });

  test('more fids than one IN list holds: every chunk is looked up and finished', async () => {
    const db = await env.database();
    const s = await db.open();
    const fids = Array.from({ length: 1100 }, (_, i) => 5000 + i);
    // Live ones in the first chunk, in the second, and last (the one a padded list repeats).
    const live = new Set([fids[3]!, fids[1050]!, fids[1099]!]);
    for (const fid of live) await liveAgain(s, fid, [1, 2]);
    const devidsOf = (fid: number): number[] => (fid % 2 === 0 ? [1 + (fid % 3), 4] : [1 + (fid % 3)]);
    const dead = fids.filter((fid) => !live.has(fid));
    await rawSql(db, `INSERT INTO file_to_delete2 (fid, nexttry, failcount) VALUES ${dead.map((fid) => `(${fid}, 0, 0)`).join(', ')}`);
    await rawSql(db, `INSERT INTO file_on (fid, devid) VALUES ${dead.flatMap((fid) => devidsOf(fid).map((d) => `(${fid}, ${d})`)).join(', ')}`);
    // Newest first, so each chunk holds fids from all over.
    const batch = [...fids].reverse();

    const states = await s.deleteJobStates(batch);
    assert.equal(states.size, fids.length);
    for (const fid of fids) {
      const want = live.has(fid) ? { live: true, devids: [1, 2] } : { live: false, devids: devidsOf(fid) };
      assert.deepEqual(states.get(fid), want, `fid ${fid}`);
    }

    const gone = await s.finishDeletedFiles(batch);
    assert.deepEqual([...gone].sort((a, b) => a - b), dead);
    assert.deepEqual(await fidsIn(db, 'file_to_delete2'), [...live]);
    assert.deepEqual(await fidsIn(db, 'file_on'), [...live]);
    for (const fid of live) assert.ok(await s.getFile(fid), `live fid ${fid} kept its file row`);
  });
});
