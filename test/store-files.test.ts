// MetadataStore on both engines: files, keys, listings, file_on, checksums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from './helpers/engines';
import { isMogError } from '../src/protocol';
import type { MetadataStore } from '../src/store';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isMogError(e, code), `expected MogError ${code}, got ${String(e)}`);
    return true;
  });
}

/** create_open + create_close in one go. */
async function put(s: MetadataStore, dmid: number, dkey: string, devids = [1, 2], extra: { length?: number; now?: number } = {}) {
  const fid = await s.createTempfile({ dmid, dkey, classid: 0, devids: devids.join(','), createtime: 1 });
  const r = await s.commitFile({ fid, dmid, dkey, length: extra.length ?? 10, classid: 0, devids, now: extra.now });
  return { fid, ...r };
}

const byteSort = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

forEachEngine((_engine, env) => {
  test('commitFile writes file, file_on, checksum and removes the tempfile row', async () => {
    const s = await env.open();
    const fid = await s.createTempfile({ dmid: 1, dkey: 'a', classid: 2, devids: '3,4', createtime: 1 });
    const sum = { hashtype: 1, checksum: Buffer.from('00112233445566778899aabbccddeeff', 'hex') };
    const r = await s.commitFile({ fid, dmid: 1, dkey: 'a', length: 5_000_000_000, classid: 2, devids: [3, 4], checksum: sum, replicateNexttry: 0 });
    assert.deepEqual(r, { replacedFid: null });
    assert.deepEqual(await s.getFile(fid), { fid, dmid: 1, dkey: 'a', length: 5_000_000_000, classid: 2, devcount: 2 });
    assert.deepEqual(await s.getFileByKey(1, 'a'), await s.getFile(fid));
    assert.equal(await s.getFileByKey(2, 'a'), null);
    assert.deepEqual(await s.fileDevids(fid), [3, 4]);
    assert.deepEqual(await s.getChecksum(fid), sum);
    assert.equal(await s.getTempfile(fid), null);
    assert.deepEqual((await s.claimReplicateJobs(10, 10, 60)).map((j) => j.fid), [fid]);
    await rejectsWith(s.commitFile({ fid, dmid: 1, dkey: 'a', length: 5, classid: 2, devids: [3] }), 'no_temp_file');
  });

  test('devcount stops at 255 (a TINYINT UNSIGNED in the original schema) on both engines', async () => {
    const s = await env.open();
    const many = Array.from({ length: 300 }, (_, i) => i + 1);
    const f = await put(s, 1, 'wide', many);
    assert.equal((await s.getFile(f.fid))?.devcount, 255);
    const g = await put(s, 1, 'grows', many.slice(0, 255));
    assert.equal(await s.addFileOn(g.fid, 256), true);
    assert.equal((await s.getFile(g.fid))?.devcount, 255);
    assert.equal((await s.fileDevids(g.fid)).length, 256, 'every copy is still recorded in file_on');
    await s.removeFileOn(g.fid, 1);
    await s.removeFileOn(g.fid, 2);
    assert.equal((await s.getFile(g.fid))?.devcount, 254);
  });

  test('addFileOn answers false for a file deleted meanwhile (the replicator then drops its copy)', async () => {
    const s = await env.open();
    const f = await put(s, 1, 'gone', [1]);
    await s.deleteFile(f.fid);
    assert.equal(await s.addFileOn(f.fid, 2), false);
    assert.equal(await s.getFile(f.fid), null);
  });

  test('getFileWithDevids and getFileForReplication answer what getFile, fileDevids and getChecksum do', async () => {
    const s = await env.open();
    const sum = { hashtype: 1, checksum: Buffer.from('00112233445566778899aabbccddeeff', 'hex') };
    const fid = await s.createTempfile({ dmid: 1, dkey: 'k/é', classid: 2, devids: '4,3', createtime: 1 });
    await s.commitFile({ fid, dmid: 1, dkey: 'k/é', length: 7, classid: 2, devids: [4, 3], checksum: sum });
    const file = await s.getFile(fid);
    assert.deepEqual(await s.getFileWithDevids(1, 'k/é'), { file, devids: [3, 4] });
    assert.deepEqual(await s.getFileForReplication(fid), { file, devids: [3, 4], checksum: sum });
    assert.equal(await s.getFileWithDevids(1, 'k/e'), null);
    assert.equal(await s.getFileForReplication(fid + 1000), null);
    // No copies and no checksum: the file is still found, with nothing beside it.
    const bare = await s.createTempfile({ dmid: 1, dkey: 'bare', classid: 0, devids: '1', createtime: 1 });
    await s.commitFile({ fid: bare, dmid: 1, dkey: 'bare', length: 1, classid: 0, devids: [1] });
    await s.removeFileOn(bare, 1);
    assert.deepEqual(await s.getFileWithDevids(1, 'bare'), { file: await s.getFile(bare), devids: [] });
    assert.deepEqual(await s.getFileForReplication(bare), { file: await s.getFile(bare), devids: [], checksum: null });
  });

  test('commitFile over an existing key replaces it and queues the old fid for deletion', async () => {
    const s = await env.open();
    const old = await put(s, 1, 'k', [1, 2]);
    await s.setChecksum(old.fid, { hashtype: 1, checksum: Buffer.alloc(16, 7) });
    const now = 1_700_000_000;
    const neu = await put(s, 1, 'k', [3], { now });
    assert.equal(neu.replacedFid, old.fid);
    assert.equal((await s.getFileByKey(1, 'k'))?.fid, neu.fid);
    assert.equal(await s.getFile(old.fid), null);
    assert.equal(await s.getChecksum(old.fid), null);
    // file_on rows stay: the delete worker needs them to find the copies
    assert.deepEqual(await s.fileDevids(old.fid), [1, 2]);
    assert.deepEqual(await s.claimDeleteJobs(now, 10, 60), [{ fid: old.fid, nexttry: now, failcount: 0 }]);
  });

  test('deleteFile removes the row and queues the fid', async () => {
    const s = await env.open();
    const f = await put(s, 1, 'gone');
    await s.deleteFile(f.fid, 1234);
    assert.equal(await s.getFileByKey(1, 'gone'), null);
    assert.deepEqual(await s.fileDevids(f.fid), [1, 2]);
    assert.deepEqual(await s.claimDeleteJobs(1234, 10, 60), [{ fid: f.fid, nexttry: 1234, failcount: 0 }]);
    assert.deepEqual(await s.queueDepths(), { replicate: 0, delete: 1 });
  });

  test('renameFile: unknown_key, key_exists, rename onto itself, key_too_long', async () => {
    const s = await env.open();
    const a = await put(s, 1, 'a');
    await put(s, 1, 'b');
    await s.renameFile(1, 'a', 'c');
    assert.equal((await s.getFileByKey(1, 'c'))?.fid, a.fid);
    assert.equal(await s.getFileByKey(1, 'a'), null);
    await rejectsWith(s.renameFile(1, 'a', 'd'), 'unknown_key');
    await rejectsWith(s.renameFile(1, 'c', 'b'), 'key_exists');
    await rejectsWith(s.renameFile(2, 'c', 'z'), 'unknown_key');
    await s.renameFile(1, 'c', 'c');
    await rejectsWith(s.renameFile(1, 'c', 'x'.repeat(1025)), 'key_too_long');
    await s.renameFile(1, 'c', 'é'.repeat(512));
    assert.equal((await s.getFileByKey(1, 'é'.repeat(512)))?.fid, a.fid);
  });

  test('1024-byte keys are stored, found and listed; longer ones are key_too_long', async () => {
    const s = await env.open();
    const k1024 = 'p/' + 'ü'.repeat(511); // 2 + 1022 bytes
    assert.equal(Buffer.byteLength(k1024), 1024);
    const f = await put(s, 1, k1024);
    assert.equal((await s.getFileByKey(1, k1024))?.dkey, k1024);
    assert.deepEqual(await s.listKeys(1, 'p/' + 'ü'.repeat(300), null, 10), [k1024]);
    await rejectsWith(s.createTempfile({ dmid: 1, dkey: k1024 + 'x', classid: 0, devids: '1', createtime: 1 }), 'key_too_long');
    const fid = await s.createTempfile({ dmid: 1, dkey: 'short', classid: 0, devids: '1', createtime: 1 });
    await rejectsWith(s.commitFile({ fid, dmid: 1, dkey: k1024 + 'x', length: 1, classid: 0, devids: [1] }), 'key_too_long');
    assert.equal((await s.getFile(f.fid))?.dkey, k1024);
  });

  test('listKeys: byte order, tricky prefixes, after and limit', async () => {
    const s = await env.open();
    const keys = [
      'a', 'a%', 'a%b', 'a_b', 'ab', 'a\\b', 'a/', 'a/x', 'b', 'A', 'é', 'é/x', 'éa', 'ü', '\u{FFFF}', '\u{FFFF}z',
      '\u{10FFFF}', '\u{10FFFF}\u{10FFFF}', '\u{10FFFF}a', 'z', '%', '_', '\u{D7FF}', '\u{E000}', 'x y', 'a\u0000b',
    ];
    for (const k of keys) await put(s, 1, k);
    await put(s, 2, 'a-other-domain');
    const prefixes = ['', 'a', 'a%', 'a_', 'a\\', 'é', 'ü', '\u{FFFF}', '\u{10FFFF}', '\u{D7FF}', '%', '_', 'a/', 'nothing'];
    for (const prefix of prefixes) {
      const expected = byteSort(keys.filter((k) => k.startsWith(prefix)));
      assert.deepEqual(await s.listKeys(1, prefix, null, 1000), expected, `prefix ${JSON.stringify(prefix)}`);
      // page through two at a time with `after`
      const paged: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await s.listKeys(1, prefix, after, 2);
        paged.push(...page);
        if (page.length < 2) break;
        after = page[page.length - 1];
      }
      assert.deepEqual(paged, expected, `paged prefix ${JSON.stringify(prefix)}`);
    }
    assert.deepEqual(await s.listKeys(1, 'a', 'a%', 3), ['a%b', 'a/', 'a/x']);
    assert.deepEqual(await s.listKeys(1, 'b', 'a', 10), ['b'], 'an after below the prefix is ignored');
    assert.deepEqual(await s.listKeys(1, 'a', 'b', 10), [], 'an after past the prefix range gives nothing');
    assert.deepEqual(await s.listKeys(1, '', 'z', 100), byteSort(keys).filter((k) => Buffer.compare(Buffer.from(k), Buffer.from('z')) > 0));
    assert.deepEqual(await s.listKeys(3, '', null, 10), []);
  });

  test('listDirectory: one level at a time, subtrees as common prefixes, paging with after', async () => {
    const s = await env.open();
    const keys = ['a', 'b/1', 'b/2', 'b/c/3', 'c/', 'c/x', 'd', 'd/e', 'e//f', '/root', 'é/1', 'é', 'z%/_'];
    for (const k of keys) await put(s, 1, k);
    await put(s, 2, 'other/x');
    const show = (es: Array<{ key: string; isPrefix: boolean }>) => es.map((e) => (e.isPrefix ? `[${e.key}]` : e.key));
    const top = ['[/]', 'a', '[b/]', '[c/]', 'd', '[d/]', '[e/]', '[z%/]', 'é', '[é/]'];
    assert.deepEqual(show(await s.listDirectory(1, '', '/', null, 100)), top);
    assert.deepEqual(show(await s.listDirectory(1, 'b/', '/', null, 100)), ['b/1', 'b/2', '[b/c/]']);
    assert.deepEqual(show(await s.listDirectory(1, 'c/', '/', null, 100)), ['c/', 'c/x']);
    assert.deepEqual(show(await s.listDirectory(1, 'e/', '/', null, 100)), ['[e//]']);
    assert.deepEqual(show(await s.listDirectory(1, 'z%/', '/', null, 100)), ['z%/_']);
    assert.deepEqual(show(await s.listDirectory(1, 'nope/', '/', null, 100)), []);
    const paged: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await s.listDirectory(1, '', '/', after, 3);
      paged.push(...show(page));
      if (page.length < 3) break;
      after = page[page.length - 1].key;
    }
    assert.deepEqual(paged, top);
    assert.deepEqual(show(await s.listDirectory(1, '', '/', 'b/', 2)), ['[c/]', 'd']);
  });

  test('listFids: from is exclusive, count is a limit, ordered by fid', async () => {
    const s = await env.open();
    const fids: number[] = [];
    for (let i = 0; i < 5; i++) fids.push((await put(s, 1, `k${i}`)).fid);
    assert.deepEqual((await s.listFids(0, 100)).map((f) => f.fid), fids);
    assert.deepEqual((await s.listFids(fids[1], 2)).map((f) => f.fid), [fids[2], fids[3]]);
    assert.deepEqual(await s.listFids(fids[4], 10), []);
    assert.deepEqual((await s.listFids(0, 1))[0], { fid: fids[0], dmid: 1, dkey: 'k0', length: 10, classid: 0, devcount: 2 });
  });

  test('file_on: add and remove keep devcount in step; updateFileClass', async () => {
    const s = await env.open();
    const f = await put(s, 1, 'f', [1]);
    // true: the file row is there (also when the copy was already recorded).
    assert.equal(await s.addFileOn(f.fid, 5), true);
    assert.equal(await s.addFileOn(f.fid, 5), true);
    assert.equal(await s.addFileOn(f.fid, 3), true);
    assert.deepEqual(await s.fileDevids(f.fid), [1, 3, 5]);
    assert.equal((await s.getFile(f.fid))?.devcount, 3);
    await s.removeFileOn(f.fid, 1);
    await s.removeFileOn(f.fid, 99);
    assert.deepEqual(await s.fileDevids(f.fid), [3, 5]);
    assert.equal((await s.getFile(f.fid))?.devcount, 2);
    await s.updateFileClass(f.fid, 4);
    assert.equal((await s.getFile(f.fid))?.classid, 4);
    await s.setChecksum(f.fid, { hashtype: 1, checksum: Buffer.alloc(16, 1) });
    await s.setChecksum(f.fid, { hashtype: 1, checksum: Buffer.alloc(16, 2) });
    assert.deepEqual(await s.getChecksum(f.fid), { hashtype: 1, checksum: Buffer.alloc(16, 2) });
  });
});

forEachEngine((_engine, env) => {
  test('deleteFileByKey: the file\'s rows go and its fid is queued for the delete worker, in one step; an unknown key is null', async () => {
    const s = await env.open();
    const { fid } = await put(s, 1, 'gone/ü.jpg');
    await s.setFileAttrs(fid, { mtimeSec: 5 });
    await s.setFileXattr(fid, 'user.x', Buffer.from('1'));
    await s.setChecksum(fid, { hashtype: 1, checksum: Buffer.alloc(16, 1) });
    const other = await put(s, 1, 'kept');
    assert.equal(await s.deleteFileByKey(1, 'gone/ü.jpg', 100), fid);
    assert.equal(await s.getFile(fid), null);
    assert.equal(await s.getChecksum(fid), null);
    assert.equal(await s.getFileAttrs(fid), null);
    assert.equal(await s.getFileXattrs(fid), null);
    assert.equal((await s.queueDepths()).delete, 1);
    assert.equal(await s.deleteFileByKey(1, 'gone/ü.jpg', 100), null);
    assert.equal(await s.deleteFileByKey(2, 'kept', 100), null);
    assert.deepEqual(await s.getFileByKey(1, 'kept'), await s.getFile(other.fid));
  });
});

forEachEngine((_engine, env) => {
  test('the delete worker\'s two steps: deleteJobState sees a live fid or its copies; finishDeletedFile drops rows and job unless the fid is live', async () => {
    const s = await env.open();
    const { fid } = await put(s, 1, 'dj', [3, 1]);
    assert.deepEqual(await s.deleteJobState(fid), { live: true, devids: [1, 3] });
    assert.equal(await s.finishDeletedFile(fid), false);
    assert.deepEqual(await s.fileDevids(fid), [1, 3]);
    assert.equal(await s.deleteFileByKey(1, 'dj', 100), fid);
    assert.deepEqual(await s.deleteJobState(fid), { live: false, devids: [1, 3] });
    assert.equal((await s.queueDepths()).delete, 1);
    assert.equal(await s.finishDeletedFile(fid), true);
    assert.deepEqual(await s.deleteJobState(fid), { live: false, devids: [] });
    assert.equal((await s.queueDepths()).delete, 0);
  });
});
