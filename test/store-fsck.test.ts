// fsck's rows on both engines: checksum rows with their file, fsck_log, the
// FSCK queue (file_to_queue type 1) and the walk's position in server_settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine, rawSql } from './helpers/engines';
import type { TestDatabase } from './helpers/engines';
import { FSCK_KEYS, FSCK_QUEUE } from '../src/store';
import type { MetadataStore } from '../src/store';

/** The `n` column of a query's first row. */
async function count(db: TestDatabase, sql: string): Promise<number> {
  return Number((await rawSql(db, sql) as { n: number }[])[0]?.n ?? 0);
}

async function put(s: MetadataStore, dkey: string, checksum?: Buffer): Promise<number> {
  const fid = await s.createTempfile({ dmid: 1, dkey, classid: 0, devids: '1,2', createtime: 1 });
  await s.commitFile({ fid, dmid: 1, dkey, length: 10, classid: 0, devids: [1, 2], checksum: checksum ? { hashtype: 1, checksum } : undefined });
  return fid;
}

forEachEngine((_engine, env) => {
  test('checksum rows: written by create_close, replaced, and removed with the file', async () => {
    const s = await env.open();
    const a = await put(s, 'sum/a', Buffer.alloc(16, 0xaa));
    const b = await put(s, 'sum/b');
    assert.deepEqual(await s.getChecksum(a), { hashtype: 1, checksum: Buffer.alloc(16, 0xaa) });
    assert.equal(await s.getChecksum(b), null);
    // What fsck does for a file of a class with a hashtype and no row (NSUM).
    await s.setChecksum(b, { hashtype: 1, checksum: Buffer.alloc(16, 0xbb) });
    assert.deepEqual((await s.getFileForReplication(b))?.checksum, { hashtype: 1, checksum: Buffer.alloc(16, 0xbb) });
    await s.deleteFile(a);
    assert.equal(await s.getChecksum(a), null);
    assert.equal(await s.deleteFileByKey(1, 'sum/b'), b);
    assert.equal(await s.getChecksum(b), null);
  });

  test('fsck_log: appended in order, read after a logid, counted by event, cleared', async () => {
    const s = await env.open();
    assert.equal(await s.fsck.maxLogid(), 0);
    await s.fsck.log([
      { utime: 100, fid: 7, evcode: 'MISS', devid: 3 },
      { utime: 100, fid: 7, evcode: 'REPL' },
      { utime: 101, fid: 9, evcode: 'BSUM', devid: 1 },
    ]);
    await s.fsck.log([{ utime: 102, fid: 9, evcode: 'REPL', devid: null }]);
    const rows = await s.fsck.logRows(0, 100);
    assert.deepEqual(rows.map((r) => [r.utime, r.fid, r.evcode, r.devid]), [
      [100, 7, 'MISS', 3], [100, 7, 'REPL', null], [101, 9, 'BSUM', 1], [102, 9, 'REPL', null],
    ]);
    assert.ok(rows.every((r, i) => i === 0 || r.logid > rows[i - 1]!.logid));
    assert.equal(await s.fsck.maxLogid(), rows[3]!.logid);
    assert.deepEqual((await s.fsck.logRows(rows[1]!.logid, 1)).map((r) => r.evcode), ['BSUM']);
    assert.deepEqual(await s.fsck.evcodeCounts(0), { MISS: 1, REPL: 2, BSUM: 1 });
    assert.deepEqual(await s.fsck.evcodeCounts(rows[1]!.logid), { REPL: 1, BSUM: 1 });
    await s.fsck.clearLog();
    assert.deepEqual(await s.fsck.logRows(0, 100), []);
    // logids keep growing after a clear, so a reader's after_logid stays meaningful.
    await s.fsck.log([{ utime: 103, fid: 1, evcode: 'GONE' }]);
    assert.ok((await s.fsck.maxLogid()) > rows[3]!.logid);
  });

  test('the walk: queued in steps from the position up to the end, claimed with a lease, finished when all is checked', async () => {
    const s = await env.open();
    const fids: number[] = [];
    for (let i = 0; i < 7; i++) fids.push(await put(s, `walk/${i}`));
    assert.equal(await s.fsck.maxFid(), fids[6]);
    // Not running: nothing is queued.
    assert.deepEqual(await s.fsck.inject(1000, 3, 100), { running: false, queued: 0, finished: false });

    await s.fsck.updateSettings({ [FSCK_KEYS.host]: 'h1', [FSCK_KEYS.highest]: String(fids[0]), [FSCK_KEYS.end]: String(fids[5]) });
    // A cap on the queue's length: 2 of the 3 asked for.
    assert.deepEqual(await s.fsck.inject(1000, 3, 2), { running: true, queued: 2, finished: false });
    assert.equal((await s.getSettings())[FSCK_KEYS.highest], String(fids[2]));
    assert.deepEqual(await s.fsck.inject(1000, 3, 2), { running: true, queued: 0, finished: false });
    assert.equal(await s.fsck.queueLength(), 2);

    const jobs = await s.fsck.claim(1000, 10, 60);
    assert.deepEqual(jobs.map((j) => j.fid), [fids[1], fids[2]]);
    assert.deepEqual(await s.fsck.claim(1000, 10, 60), [], 'leased');
    await s.fsck.finish(fids[1]!);
    await s.fsck.retry(fids[2]!, 1005, 1);
    assert.deepEqual(await s.fsck.claim(1004, 10, 60), []);
    assert.deepEqual((await s.fsck.claim(1005, 10, 60)).map((j) => [j.fid, j.failcount]), [[fids[2], 1]]);
    await s.fsck.finish(fids[2]!);

    assert.deepEqual(await s.fsck.inject(1010, 10, 100), { running: true, queued: 3, finished: false });
    assert.equal((await s.getSettings())[FSCK_KEYS.highest], String(fids[5]), 'never past fsck_fid_at_end');
    for (const j of await s.fsck.claim(1010, 10, 60)) await s.fsck.finish(j.fid);
    assert.equal(await s.fsck.queueLength(), 0);
    assert.deepEqual(await s.fsck.inject(1020, 10, 100), { running: false, queued: 0, finished: true });
    const st = await s.getSettings();
    assert.equal(st[FSCK_KEYS.host], undefined);
    assert.equal(st[FSCK_KEYS.stopTime], '1020');
    assert.deepEqual(await s.fsck.inject(1030, 10, 100), { running: false, queued: 0, finished: false });
  });

  test('fsck jobs are their own rows of file_to_queue, cleared without touching others', async () => {
    const db = await env.database();
    const s = await db.open();
    const fid = await put(s, 'queue/x');
    // A job of another type (the original's other queues share the table) for the same fid.
    await rawSql(db, `INSERT INTO file_to_queue (fid, devid, type, nexttry) VALUES (${fid}, NULL, 2, 0)`);
    await s.fsck.updateSettings({ [FSCK_KEYS.host]: 'h', [FSCK_KEYS.highest]: String(fid - 1), [FSCK_KEYS.end]: String(fid) });
    assert.equal((await s.fsck.inject(5, 10, 10)).queued, 1);
    // Queueing the same fid again (a reset to an earlier position) is no error.
    await s.fsck.updateSettings({ [FSCK_KEYS.highest]: String(fid - 1) });
    assert.equal((await s.fsck.inject(5, 10, 10)).queued, 1);
    assert.equal(await s.fsck.queueLength(), 1);
    // Claimed, finished and counted by type: the other row is not an fsck job.
    assert.deepEqual((await s.fsck.claim(10, 10, 60)).map((j) => j.fid), [fid]);
    await s.fsck.retry(fid, 500, 1);
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM file_to_queue WHERE type = 2 AND nexttry = 0 AND failcount = 0'), 1);
    await s.fsck.clearQueue();
    assert.equal(await s.fsck.queueLength(), 0);
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM file_to_queue WHERE type = 2'), 1, 'the other queue kept its row');
    assert.equal(await count(db, `SELECT COUNT(*) AS n FROM file_to_queue WHERE type = ${FSCK_QUEUE}`), 0);
  });

  test('devcount recounted from the file_on rows (BCNT); a deleted fid is left alone', async () => {
    const db = await env.database();
    const s = await db.open();
    const fid = await put(s, 'count/x');
    await rawSql(db, `UPDATE file SET devcount = 5 WHERE fid = ${fid}`);
    assert.equal((await s.getFile(fid))?.devcount, 5);
    await s.fsck.refreshDevcount(fid);
    assert.equal((await s.getFile(fid))?.devcount, 2);
    await s.deleteFile(fid);
    await s.fsck.refreshDevcount(fid);
    assert.equal(await s.getFile(fid), null);
    assert.deepEqual(await s.fileDevids(fid), [1, 2], 'no file_on row added or removed');
  });

  test('settings: several set and removed at once; counters added to', async () => {
    const s = await env.open();
    await s.fsck.updateSettings({ a_one: '1', a_two: '2' });
    await s.fsck.updateSettings({ a_one: null, a_two: '22' });
    const st = await s.getSettings();
    assert.equal(st.a_one, undefined);
    assert.equal(st.a_two, '22');
    await s.fsck.incrSetting(FSCK_KEYS.fidsChecked, 5);
    await Promise.all([s.fsck.incrSetting(FSCK_KEYS.fidsChecked, 3), s.fsck.incrSetting(FSCK_KEYS.fidsChecked, 4)]);
    assert.equal((await s.getSettings())[FSCK_KEYS.fidsChecked], '12');
  });
});
