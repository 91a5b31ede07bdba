/**
 * Odd keys through a real FUSE mount, on both engines: keys written with the
 * client library (spaces, '%', '#', '?', unicode, control characters, empty
 * segments from '//', a leading or a trailing '/', '.' and '..' segments,
 * over-long segments, the marker's name with content, a file beside a
 * same-named directory) all show in the mount, each exactly once, under the
 * name the prefix scheme (src/vfs/names.ts) gives; each reads back what was
 * stored, can be renamed to a plain name and back (the client sees the key
 * move), and can be deleted (the client no longer finds it). All of it against
 * our tracker and against one without our extensions (a stock tracker: listings
 * from list_keys, which refuses '%' and '\' in a prefix; renames without replace).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { mount, mountSkipReason, stopAllMounts, keyGone } from './helpers/mount';
import type { Mount } from './helpers/mount';
import { renameKey, renameKeyStock } from '../src/client';
import { encodeSegment, keyOf, MARKER, parsePath } from '../src/vfs/names';

const L300 = 'L'.repeat(300);
const E150 = 'é'.repeat(150); // 300 bytes of two-byte characters
const P100 = '%'.repeat(100); // 300 bytes that escape to 900

/** The keys, and (for some) the path the scheme must show them at, hard-coded so a change of scheme is caught. */
const ODD: Array<{ key: string; shown?: string }> = [
  { key: 'plain/ordinary.txt', shown: 'plain/ordinary.txt' },
  { key: 'sp ace/file with  spaces .txt', shown: 'sp ace/file with  spaces .txt' },
  { key: 'pct/100%.txt', shown: 'pct/100%.txt' },
  { key: 'pct/%%already escaped', shown: 'pct/%%%25%25already escaped' },
  { key: 'pct/%41', shown: 'pct/%41' },
  { key: 'hash/#1?.txt', shown: 'hash/#1?.txt' },
  { key: 'q?/what?=x+y&z', shown: 'q?/what?=x+y&z' },
  { key: 'uni/日本語/ファイル.txt', shown: 'uni/日本語/ファイル.txt' },
  { key: 'uni/émoji 😀.bin' },
  { key: 'ctl/tab\there', shown: 'ctl/tab\there' },
  { key: 'ctl/new\nline' },
  { key: 'ctl/back\\slash' },
  { key: 'ctl/nul\0byte', shown: 'ctl/%%nul%00byte' },
  { key: 'a//b', shown: 'a/%%/b' },
  { key: 'a///c', shown: 'a/%%/%%/c' },
  { key: 'dots/./here', shown: 'dots/%%./here' },
  { key: 'dots/../up', shown: 'dots/%%../up' },
  { key: 'dots2/.', shown: 'dots2/%%.' },
  { key: 'dots2/..', shown: 'dots2/%%..' },
  { key: '/lead', shown: '%%/lead' },
  { key: 'trail/', shown: 'trail/%%' },
  { key: `long/${L300}.txt`, shown: `long/%%+${'L'.repeat(252)}/%%${'L'.repeat(48)}.txt` },
  { key: `long/${L300}.bin`, shown: `long/%%+${'L'.repeat(252)}/%%${'L'.repeat(48)}.bin` },
  { key: `long/${E150}a` },
  { key: `long/${E150}b` },
  { key: `long/${P100}1` },
  { key: `long/${P100}2` },
  { key: 'mk/.mogfs-dir', shown: 'mk/%%.mogfs-dir' },
  { key: '.mogfs-dir', shown: '%%.mogfs-dir' },
  { key: 'x', shown: '%%=x' },
  { key: 'x/y', shown: 'x/y' },
  { key: 'x/z/w', shown: 'x/z/w' },
  { key: 'x/z', shown: 'x/%%=z' },
];

/** The path (relative, '/'-joined) the scheme shows `key` at, given every key there is. */
function expectedPath(key: string, all: string[]): string {
  const segs = key.split('/');
  const comps: string[] = [];
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    const besideDir = last && all.some((k) => k.startsWith(`${key}/`));
    comps.push(...encodeSegment(seg, besideDir));
  });
  return comps.join('/');
}

/** Every entry under `root`, by relative path: walked with async readdir and lstat only. */
async function walk(root: string): Promise<{ files: Map<string, number>; dirs: string[]; dupes: string[] }> {
  const files = new Map<string, number>();
  const dirs: string[] = [];
  const dupes: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = await fs.readdir(path.join(root, rel));
    if (new Set(names).size !== names.length) dupes.push(`${rel}: ${names.join(' | ')}`);
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await fs.lstat(path.join(root, r));
      if (st.isDirectory()) {
        dirs.push(r);
        await visit(r);
      } else {
        files.set(r, st.size);
      }
    }
  };
  await visit('');
  return { files, dirs, dupes };
}


forEachEngine((engine) => {
  after(() => stopAllMounts());
  for (const extensions of [true, false]) {
    describe(extensions ? 'our tracker' : 'a stock tracker (list_keys listings, non-atomic renames)', () => {
      let c: Cluster;
      let m: Mount;
      let skip: string | null = null;
      const keys = ODD.map((o) => o.key);
      const content = new Map<string, Buffer>();

      before(async () => {
        skip = await mountSkipReason();
        if (skip) return;
        c = await startCluster({ engine, tracker: { extensions } });
        let i = 0;
        for (const key of keys) {
          const buf = Buffer.concat([Buffer.from(`key ${JSON.stringify(key)}\n`), randomBytes(97 * i++)]);
          content.set(key, buf);
          await c.client.storeBuffer(key, buf);
        }
        m = await mount(c.trackers, { domain: 'default' });
      });
      after(async () => {
        await m?.stop();
        await c?.stop();
      });
      /** A failing mount operation's error, with what the mount logged about it. */
      const logged = (e: Error): never => {
        e.message += `\nmount log:\n${m.log().split('\n').slice(-20).join('\n')}`;
        throw e;
      };

      test('the scheme itself: expected names round-trip through parsePath, hard-coded ones agree', (t) => {
        if (skip) return t.skip(skip);
        for (const o of ODD) {
          const p = expectedPath(o.key, keys);
          if (o.shown !== undefined) assert.equal(p, o.shown, `scheme for ${JSON.stringify(o.key)}`);
          const ref = parsePath('/' + p);
          assert.ok(ref, `parsePath(${JSON.stringify(p)})`);
          assert.equal(keyOf('', ref), o.key);
          assert.ok(p.split('/').every((comp) => Buffer.byteLength(comp) <= 255 && comp !== '.' && comp !== '..' && comp !== ''), p);
        }
      });

      test('every key shows exactly once, at its escaped name, with its size and content', async (t) => {
        if (skip) return t.skip(skip);
        const { files, dupes } = await walk(m.dir);
        assert.deepEqual(dupes, [], 'a directory listed a name twice');
        const want = keys.map((k) => expectedPath(k, keys)).sort();
        assert.deepEqual([...files.keys()].sort(), want, `mount log:\n${m.log()}`);
        for (const key of keys) {
          const p = expectedPath(key, keys);
          const buf = content.get(key) as Buffer;
          assert.equal(files.get(p), buf.length, `size of ${p}`);
          const got = await fs.readFile(path.join(m.dir, p));
          assert.ok(got.equals(buf), `content of ${JSON.stringify(p)} (key ${JSON.stringify(key)})`);
        }
      });

      test('every name resolves by its path alone, with nothing cached (lookups, not listings)', async (t) => {
        if (skip) return t.skip(skip);
        // Past the view's and the kernel's cache time (1 s each), so every component is looked up afresh.
        await new Promise((r) => setTimeout(r, 2500));
        for (const key of keys) {
          const p = expectedPath(key, keys);
          const comps = p.split('/');
          for (let i = 1; i < comps.length; i++) {
            const dir = comps.slice(0, i).join('/');
            assert.ok((await fs.lstat(path.join(m.dir, dir)).catch(logged)).isDirectory(), `${dir} is a directory`);
          }
          const st = await fs.lstat(path.join(m.dir, p)).catch(logged);
          assert.ok(st.isFile() && st.size === (content.get(key) as Buffer).length, `${p}: a file of the stored size`);
        }
      });

      test('each key can be renamed to a plain name and back; the client sees it move', async (t) => {
        if (skip) return t.skip(skip);
        await fs.mkdir(path.join(m.dir, 'renamed'));
        let i = 0;
        for (const key of keys) {
          const shown = path.join(m.dir, expectedPath(key, keys));
          const plainKey = `renamed/plain-${i++}`;
          const plain = path.join(m.dir, plainKey);
          const fid = (await c.client.fileInfo(key)).fid;
          await fs.rename(shown, plain).catch(logged);
          if (key.endsWith(`/${MARKER}`)) {
            // Its directory lost its last entry, so the mount kept it with an (empty) marker under that key.
            const now = await c.client.fileInfo(key);
            assert.ok(now.fid !== fid && now.length === 0, `${JSON.stringify(key)} is an empty marker now, not the file`);
          } else {
            assert.ok(await keyGone(c.client.fileInfo(key)), `${JSON.stringify(key)} still exists after the rename away`);
          }
          const moved = await c.client.fileInfo(plainKey);
          assert.equal(moved.fid, fid, `${plainKey} is the same file`);
          assert.ok((await fs.readFile(plain)).equals(content.get(key) as Buffer), `content of ${plainKey}`);
          await assert.rejects(fs.lstat(shown), (e: NodeJS.ErrnoException) => e.code === 'ENOENT', `${shown} gone`);

          const ref = parsePath('/' + expectedPath(key, keys));
          if (ref?.fileForm || key.split('/').pop() === MARKER) {
            // No new file can take a file form (%%=name: an existing file beside a directory) or the
            // reserved marker name (creatable() in names.ts), so renaming back to one is refused:
            // put it back with the client instead.
            await assert.rejects(fs.rename(plain, shown), (e: NodeJS.ErrnoException) => e.code === 'EINVAL');
            await (extensions ? renameKey : renameKeyStock)(c.client, plainKey, key, { replace: true });
            await c.waitFor(`${shown} to show again`, async () => (await fs.lstat(shown).catch(() => null))?.isFile() === true, 5000);
          } else {
            await fs.rename(plain, shown).catch(logged);
          }
          assert.ok(await keyGone(c.client.fileInfo(plainKey)), `${plainKey} still exists after the rename back`);
          assert.equal((await c.client.fileInfo(key)).fid, fid, `${JSON.stringify(key)} is back`);
          assert.ok((await fs.readFile(shown)).equals(content.get(key) as Buffer), `content of ${shown} after the round trip`);
        }
        // Everything is where it was, each once.
        const { files } = await walk(m.dir);
        const want = keys.map((k) => expectedPath(k, keys)).sort();
        assert.deepEqual([...files.keys()].sort(), want);
        await fs.rmdir(path.join(m.dir, 'renamed'));
      });

      test('each key can be deleted through the mount; the client no longer finds it', async (t) => {
        if (skip) return t.skip(skip);
        for (const key of keys) {
          const shown = path.join(m.dir, expectedPath(key, keys));
          const fid = (await c.client.fileInfo(key)).fid;
          await fs.unlink(shown).catch(logged);
          if (key.endsWith(`/${MARKER}`)) {
            // As after the rename away: its directory is kept by an empty marker under that key.
            const now = await c.client.fileInfo(key);
            assert.ok(now.fid !== fid && now.length === 0, `${JSON.stringify(key)} is an empty marker now, not the file`);
          } else {
            assert.ok(await keyGone(c.client.fileInfo(key)), `${JSON.stringify(key)} still exists after unlink`);
          }
          await assert.rejects(fs.lstat(shown), (e: NodeJS.ErrnoException) => e.code === 'ENOENT', `${shown} gone`);
        }
        const { files } = await walk(m.dir);
        assert.deepEqual([...files.keys()], [], 'files left in the mount');
        // What is left in the domain is directory markers (empty directories kept), nothing else.
        const left: string[] = [];
        for await (const k of c.client.keys('')) left.push(k);
        for (const k of left) {
          assert.ok(k.endsWith('/.mogfs-dir'), `left over key ${JSON.stringify(k)}`);
          assert.equal((await c.client.fileInfo(k)).length, 0, `${JSON.stringify(k)} is an empty marker`);
        }
      });
    });
  }
});
