// listDirectory's cost: it seeks past each subtree instead of reading it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listDirectory, ScanKeys } from '../src/store/listdir';

/** An in-memory index over sorted keys that counts how many keys each listing reads. */
function fakeIndex(keys: string[]): { scan: ScanKeys; read: () => number } {
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let read = 0;
  const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const scan: ScanKeys = async (from, inclusive, end, limit) => {
    const out = sorted.filter((k) => (inclusive ? cmp(k, from) >= 0 : cmp(k, from) > 0) && (end === null || cmp(k, end) < 0));
    const page = out.slice(0, limit);
    read += page.length;
    return page;
  };
  return { scan, read: () => read };
}

test('a readdir reads about as many keys as it shows, however deep the subtrees', async () => {
  const keys: string[] = [];
  for (let d = 0; d < 20; d++) for (let f = 0; f < 500; f++) keys.push(`photos/dir${d}/img${f}.jpg`);
  keys.push('photos/readme.txt');
  const idx = fakeIndex(keys);
  const entries = await listDirectory(idx.scan, 'photos/', '/', null, 1000);
  assert.equal(entries.length, 21);
  assert.equal(entries.filter((e) => e.isPrefix).length, 20);
  assert.ok(idx.read() < 21 * 20, `read ${idx.read()} keys for 21 entries (10001 keys below)`);
});

test('limit and the end of the key space are respected', async () => {
  const idx = fakeIndex(['a/1', 'b', '\u{10FFFF}/x', '\u{10FFFF}\u{10FFFF}']);
  assert.deepEqual(await listDirectory(idx.scan, '', '/', null, 1), [{ key: 'a/', isPrefix: true }]);
  assert.deepEqual(await listDirectory(idx.scan, '', '/', null, 10), [
    { key: 'a/', isPrefix: true }, { key: 'b', isPrefix: false },
    { key: '\u{10FFFF}/', isPrefix: true }, { key: '\u{10FFFF}\u{10FFFF}', isPrefix: false },
  ]);
  await assert.rejects(listDirectory(idx.scan, '', '', null, 10));
});
