/**
 * The prefix scheme's mapping (src/vfs/names.ts): fixed examples, and a
 * round trip over generated keys, odd ones included: walking the tree the
 * way the mount does (one listing per directory) shows every key exactly
 * once, under a name that parses back to that key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSegment, keyOf, listingPrefix, MARKER, parsePath, showEntries, creatable } from '../src/vfs/names';
import type { RawEntry } from '../src/vfs/names';
import { seededRandom } from './helpers/random';

test('plain segments stay as they are; odd ones are escaped', () => {
  assert.deepEqual(encodeSegment('c.jpg'), ['c.jpg']);
  assert.deepEqual(encodeSegment('name with spaces #?&'), ['name with spaces #?&']);
  assert.deepEqual(encodeSegment('100%'), ['100%']);
  assert.deepEqual(encodeSegment(''), ['%%']);
  assert.deepEqual(encodeSegment('.'), ['%%.']);
  assert.deepEqual(encodeSegment('..'), ['%%..']);
  assert.deepEqual(encodeSegment('%%x'), ['%%%25%25x']);
  assert.deepEqual(encodeSegment(MARKER), ['%%.mogfs-dir']);
  assert.deepEqual(encodeSegment('a\0b'), ['%%a%00b']);
  assert.deepEqual(encodeSegment('a', true), ['%%=a']);
  const long = 'x'.repeat(300);
  const parts = encodeSegment(long);
  assert.deepEqual(parts, ['%%+' + 'x'.repeat(252), '%%' + 'x'.repeat(48)]);
  assert.equal(parts.join('').replace(/%%\+?/g, ''), long);
  assert.equal(encodeSegment('é'.repeat(200)).every((c) => Buffer.byteLength(c) <= 255), true);
});

test('paths parse back to keys; non-canonical names name nothing', () => {
  const key = (p: string): string | null => {
    const r = parsePath(p);
    return r === null ? null : keyOf('pre/', r);
  };
  assert.equal(key('/a/b/c.jpg'), 'pre/a/b/c.jpg');
  assert.equal(key('/a/%%/b'), 'pre/a//b');
  assert.equal(key('/%%..'), 'pre/..');
  assert.equal(key('/a/%%'), 'pre/a/');
  assert.equal(key('/%%+' + 'x'.repeat(252) + '/%%' + 'x'.repeat(48)), 'pre/' + 'x'.repeat(300));
  for (const bad of ['/%%a', '/%%=a/b', '/' + MARKER, '/%%%41', '/%%a+b', '/%%+abc/plain', '/..']) {
    assert.equal(parsePath(bad), null, bad);
  }
  const cont = parsePath('/d/%%+' + 'y'.repeat(252));
  assert.ok(cont);
  assert.equal(cont.partial, 'y'.repeat(252));
  assert.equal(listingPrefix('', cont), 'd/' + 'y'.repeat(252));
  assert.equal(creatable(cont), false);
  assert.equal(creatable(parsePath('/a/%%..') as never), true);
  assert.equal(creatable(parsePath('/a/%%.mogfs-dir') as never), false);
});

/** A deterministic pseudo-random generator (mulberry32), so failures reproduce. */
const rng = seededRandom;

const PIECES = ['a', 'b', 'c', '/', '/', '/', '.', '..', '%', '%%', '+', '=', ' ', 'é', '文', '#', '?', MARKER, '\0', 'x'.repeat(120)];

function randomKey(r: () => number): string {
  let k = '';
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) k += PIECES[Math.floor(r() * PIECES.length)];
  return k;
}

/** One directory level under `prefix`, as mogfs_list_dir gives it (byte order is irrelevant here). */
function oneLevel(keys: string[], prefix: string): RawEntry<string>[] {
  const out: RawEntry<string>[] = [];
  const dirs = new Set<string>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const rest = k.slice(prefix.length);
    const i = rest.indexOf('/');
    if (i < 0) out.push({ rest, isDir: false, value: k });
    else if (!dirs.has(rest.slice(0, i))) {
      dirs.add(rest.slice(0, i));
      out.push({ rest: rest.slice(0, i), isDir: true, value: prefix + rest.slice(0, i + 1) });
    }
  }
  return out;
}

test('round trip: every generated key is shown exactly once, under a name that parses back to it', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    const keys = [...new Set(Array.from({ length: 150 }, () => randomKey(r)))].filter((k) => Buffer.byteLength(k) <= 1024);
    const found = new Map<string, string>();
    const walk = (path: string, depth: number): void => {
      assert.ok(depth < 64, `runaway walk at ${path}`);
      const ref = parsePath(path);
      assert.ok(ref, `directory ${JSON.stringify(path)} must parse`);
      const shown = showEntries(ref, oneLevel(keys, listingPrefix('', ref)));
      const names = new Set<string>();
      for (const e of shown) {
        assert.ok(!names.has(e.name), `duplicate name ${JSON.stringify(e.name)} in ${path}`);
        names.add(e.name);
        assert.ok(e.name !== '' && !e.name.includes('/') && !e.name.includes('\0') && Buffer.byteLength(e.name) <= 255, JSON.stringify(e.name));
        const child = (path === '/' ? '' : path) + '/' + e.name;
        if (e.isDir) {
          walk(child, depth + 1);
        } else {
          const cref = parsePath(child);
          assert.ok(cref, `file ${JSON.stringify(child)} must parse`);
          assert.equal(keyOf('', cref), e.value, `seed ${seed}: ${JSON.stringify(child)}`);
          assert.ok(!found.has(e.value), `key ${JSON.stringify(e.value)} shown twice`);
          found.set(e.value, child);
        }
      }
    };
    walk('/', 0);
    const missing = keys.filter((k) => !found.has(k));
    assert.deepEqual(missing, [], `seed ${seed}: keys not shown`);
  }
});
