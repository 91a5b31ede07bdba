// Bursts of concurrent create_open, create_close and delete through the
// store, as a busy tracker makes them (on MySQL, create_close and delete
// each as one batch: store/mysql/batches.ts): the outcome must be exactly
// what the same requests one at a time give, on both engines: every fid
// distinct, a replaced file queued for deletion, a double close refused, a
// key deleted twice found once, and a request the server refuses failing
// alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from './helpers/engines';
import { isMogError } from '../src/protocol';
import type { MetadataStore } from '../src/store';

const N = 120;

async function opens(s: MetadataStore, dmid: number, keys: string[]): Promise<number[]> {
  return Promise.all(keys.map((dkey) => s.createTempfile({ dmid, dkey, classid: 0, devids: '1,2', createtime: 1 })));
}

forEachEngine((engine, env) => {
  test('a burst of create_open gets distinct fids, also when the counter runs into fids in use', async () => {
    const s = await env.open();
    const { dmid } = await s.createDomain('g');
    const first = await opens(s, dmid, Array.from({ length: N }, (_, i) => `a/${i}`));
    assert.equal(new Set(first).size, N);
    // Files right above the counter (another writer): the next burst must step over them.
    const top = Math.max(...first);
    for (let f = top + 1; f <= top + 5; f++) {
      const fid = await s.createTempfile({ fid: f, dmid, dkey: `taken/${f}`, classid: 0, devids: '1', createtime: 1 });
      await s.commitFile({ fid, dmid, dkey: `taken/${f}`, length: 1, classid: 0, devids: [1] });
    }
    const second = await opens(s, dmid, Array.from({ length: N }, (_, i) => `b/${i}`));
    assert.equal(new Set([...first, ...second]).size, 2 * N, 'a fid handed out twice');
    for (const f of second) assert.ok(f <= top || f > top + 5, `fid ${f} is a stored file's`);
    assert.equal((await s.listStaleTempfiles(2, 10 * N)).length, 2 * N, 'one tempfile row per open, no strays');
  });

  test('a burst of create_close: new keys land, taken keys are replaced, double closes refused, as one at a time', async () => {
    const s = await env.open();
    const { dmid } = await s.createDomain('g');
    // Old files under half of the keys: closing those replaces them.
    const old = new Map<string, number>();
    for (let i = 0; i < N; i += 2) {
      const [fid] = await opens(s, dmid, [`k/${i}`]);
      await s.commitFile({ fid, dmid, dkey: `k/${i}`, length: 1, classid: 0, devids: [1] });
      old.set(`k/${i}`, fid);
    }
    const keys = Array.from({ length: N }, (_, i) => `k/${i}`);
    // Two uploads of one new key in the same burst: the later replaces the earlier.
    keys.push('twice', 'twice');
    const fids = await opens(s, dmid, keys);
    const sum = { hashtype: 1, checksum: Buffer.alloc(16, 7) };
    const results = await Promise.all(keys.map((dkey, i) => s.commitFile({
      fid: fids[i], dmid, dkey, length: 100 + i, classid: 0, devids: [1, 2], checksum: i % 3 === 0 ? sum : undefined,
      attrs: i % 4 === 0 ? { mtimeSec: 1000 + i, mtimeNsec: 0, mode: 0o100644, uid: 1, gid: 1, symlink: null } : undefined,
      replicateNexttry: 0,
    })));
    for (let i = 0; i < N; i++) {
      const f = await s.getFileByKey(dmid, `k/${i}`);
      assert.equal(f?.fid, fids[i], `k/${i}`);
      assert.equal(f?.length, 100 + i);
      assert.equal(f?.devcount, 2);
      assert.deepEqual(await s.fileDevids(fids[i]), [1, 2]);
      assert.equal((await s.getChecksum(fids[i]))?.checksum.equals(sum.checksum) ?? false, i % 3 === 0);
      assert.equal((await s.getFileAttrs(fids[i]))?.mtimeSec ?? null, i % 4 === 0 ? 1000 + i : null);
      assert.equal(results[i].replacedFid, old.get(`k/${i}`) ?? null, `k/${i} replaced`);
    }
    const twice = await s.getFileByKey(dmid, 'twice');
    const [a, b] = [fids[N], fids[N + 1]];
    assert.ok(twice && (twice.fid === a || twice.fid === b));
    assert.equal(results[N].replacedFid ?? results[N + 1].replacedFid, twice.fid === a ? b : a, 'the other upload of "twice" was replaced');
    assert.equal(await s.getFile(twice.fid === a ? b : a), null);
    // Every replaced fid is queued for deletion; every new one for replication.
    const deletes = new Set((await s.claimDeleteJobs(2_000_000_000, 10 * N, 60)).map((j) => j.fid));
    for (const fid of old.values()) assert.ok(deletes.has(fid), `replaced fid ${fid} not queued for deletion`);
    assert.ok(deletes.has(twice.fid === a ? b : a));
    const repl = new Set((await s.claimReplicateJobs(2_000_000_000, 10 * N, 60)).map((j) => j.fid));
    for (const fid of fids) assert.ok(repl.has(fid), `fid ${fid} not queued for replication`);
    // Closing them all again: every one refused, nothing changed.
    const again = await Promise.allSettled(keys.map((dkey, i) => s.commitFile({ fid: fids[i], dmid, dkey, length: 1, classid: 0, devids: [3] })));
    for (const r of again) assert.ok(r.status === 'rejected' && isMogError(r.reason, 'no_temp_file'), String(r.status === 'rejected' ? r.reason : 'accepted'));
    assert.equal((await s.getFileByKey(dmid, 'k/1'))?.length, 101);
  });

  test('a burst of deletes, some of one key twice and some of no key, as one at a time', async () => {
    const s = await env.open();
    const { dmid } = await s.createDomain('g');
    const keys = Array.from({ length: N }, (_, i) => `d/${i}`);
    const fids = await opens(s, dmid, keys);
    await Promise.all(keys.map((dkey, i) => s.commitFile({ fid: fids[i], dmid, dkey, length: 1, classid: 0, devids: [1] })));
    const asks = [...keys, ...keys.slice(0, 10), 'd/none', 'nothing/here'];
    // On MySQL, deletes that come while one is at the server go together: count the batches sent.
    const db = (s as unknown as { mysql?: { script: (...a: unknown[]) => Promise<unknown[]> } }).mysql;
    let batches = 0;
    if (db) {
      const script = db.script.bind(db);
      db.script = (...a) => { batches++; return script(...a); };
    }
    const got = await Promise.all(asks.map((k) => s.deleteFileByKey(dmid, k, 5)));
    if (db) assert.ok(batches > 0 && batches <= asks.length / 10, `${asks.length} deletes took ${batches} transactions`);
    for (let i = 0; i < N; i++) {
      const twice = i < 10;
      const answers = twice ? [got[i], got[N + i]] : [got[i]];
      assert.deepEqual(answers.filter((x) => x !== null), [fids[i]], `d/${i}: ${JSON.stringify(answers)}`);
      assert.equal(await s.getFileByKey(dmid, `d/${i}`), null);
    }
    assert.equal(got[N + 10], null);
    assert.equal(got[N + 11], null);
    const queued = new Map((await s.claimDeleteJobs(2_000_000_000, 10 * N, 60)).map((j) => [j.fid, j]));
    for (const fid of fids) assert.ok(queued.has(fid), `deleted fid ${fid} not queued`);
  });

  test('a request the server refuses fails alone; the rest of its burst lands', async () => {
    const s = await env.open();
    const { dmid } = await s.createDomain('g');
    const keys = Array.from({ length: 40 }, (_, i) => `r/${i}`);
    const fids = await opens(s, dmid, keys);
    // One close with a length the column cannot hold (file.length is unsigned): the server refuses it.
    const results = await Promise.allSettled(keys.map((dkey, i) => s.commitFile({
      fid: fids[i], dmid, dkey, length: i === 17 ? -5 : 10, classid: 0, devids: [1],
    })));
    results.forEach((r, i) => assert.equal(r.status, i === 17 && engine === 'mysql' ? 'rejected' : 'fulfilled', `r/${i}`));
    for (let i = 0; i < keys.length; i++) {
      if (i === 17 && engine === 'mysql') {
        assert.equal(await s.getFileByKey(dmid, keys[i]), null);
        assert.ok(await s.getTempfile(fids[i]), 'the refused upload can still be closed');
      } else {
        assert.equal((await s.getFileByKey(dmid, keys[i]))?.fid, fids[i], keys[i]);
      }
    }
  });
});
