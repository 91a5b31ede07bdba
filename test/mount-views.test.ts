/**
 * The mount's views, on real FUSE mounts and both engines:
 *  (a) two mounts of one domain see each other's changes (a file, a
 *      directory, an overwrite, renames, deletes) within the cache time;
 *  (b) a mount against a tracker without our extensions (a stock tracker):
 *      listings from list_keys, files and directories made, read, renamed
 *      (not atomically there) and removed, and what needs our attribute
 *      tables (chmod, utimens, symlink) refused with EPERM;
 *  (c) the whole-cluster mount: domains as top-level directories, made and
 *      removed with mkdir and rmdir, nothing else allowed at the top, and
 *      `mv` between domains (EXDEV: a copy and a delete).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { mount, mountSkipReason, sh, stopAllMounts, keyGone } from './helpers/mount';
import type { Mount } from './helpers/mount';
import { MogileFS } from '../src/client';

/** How long another mount may take to show a change: --cache-time 1 for the view, and as long for the kernel's caches. */
const SEEN_WITHIN_MS = 3000;

function isErr(code: string) {
  return (e: NodeJS.ErrnoException): boolean => e.code === code;
}


async function keysUnder(client: MogileFS, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of client.keys(prefix)) out.push(k);
  return out;
}

forEachEngine((engine) => {
  let skip: string | null = null;
  before(async () => { skip = await mountSkipReason(); });
  after(() => stopAllMounts());

  describe('two mounts of one domain', () => {
    let c: Cluster | undefined;
    let m1: Mount;
    let m2: Mount;
    before(async () => {
      if (skip) return;
      c = await startCluster({ engine });
      m1 = await mount(c.trackers, { domain: 'default', cacheTime: 1 });
      m2 = await mount(c.trackers, { domain: 'default', cacheTime: 1 });
    });
    after(async () => {
      await m1?.stop();
      await m2?.stop();
      await c?.stop();
    });

    test('a change through one is seen through the other within the cache time', async (t) => {
      if (skip) return t.skip(skip);
      const cl = c as Cluster;
      const a = (p: string): string => path.join(m1.dir, p);
      const b = (p: string): string => path.join(m2.dir, p);
      const seen = async (what: string, check: () => Promise<boolean>): Promise<void> => {
        const t0 = Date.now();
        await cl.waitFor(`mount 2 to see ${what}`, check, SEEN_WITHIN_MS);
        t.diagnostic(`${what}: seen after ${Date.now() - t0} ms`);
      };
      const isDir = async (p: string): Promise<boolean> => (await fs.lstat(p)).isDirectory();
      const missing = async (p: string): Promise<boolean> => fs.lstat(p).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
      const holds = async (p: string, want: Buffer): Promise<boolean> => (await fs.readFile(p)).equals(want);

      // Mount 2 looks first, so its caches hold the absence.
      assert.ok(await missing(b('shared')));
      await fs.mkdir(a('shared'));
      await seen('a new directory', () => isDir(b('shared')));

      assert.deepEqual(await fs.readdir(b('shared')), []);
      assert.ok(await missing(b('shared/f.txt')));
      const v1 = Buffer.from('version-1 ' + randomBytes(8).toString('hex'));
      await fs.writeFile(a('shared/f.txt'), v1);
      await seen('a new file', () => holds(b('shared/f.txt'), v1));
      assert.deepEqual(await fs.readdir(b('shared')), ['f.txt']);

      // Overwritten with content of the same length: the other mount must not serve its page cache.
      const v2 = Buffer.from('version-2 ' + randomBytes(8).toString('hex'));
      assert.equal(v2.length, v1.length);
      await fs.writeFile(a('shared/f.txt'), v2);
      await seen('an overwrite', () => holds(b('shared/f.txt'), v2));

      await fs.rename(a('shared/f.txt'), a('shared/g.txt'));
      await seen('a file renamed', async () => (await missing(b('shared/f.txt'))) && (await holds(b('shared/g.txt'), v2)));

      await fs.mkdir(a('shared/sub'));
      await fs.writeFile(a('shared/sub/h.txt'), 'in sub');
      await seen('a file in a new subdirectory', () => holds(b('shared/sub/h.txt'), Buffer.from('in sub')));
      await fs.rename(a('shared'), a('moved'));
      await seen('a directory renamed', async () => (await missing(b('shared'))) &&
        (await holds(b('moved/g.txt'), v2)) && (await holds(b('moved/sub/h.txt'), Buffer.from('in sub'))));

      await fs.unlink(a('moved/g.txt'));
      await seen('a file deleted', async () => (await missing(b('moved/g.txt'))) && !(await fs.readdir(b('moved'))).includes('g.txt'));
      await fs.rm(a('moved'), { recursive: true });
      await seen('a directory tree deleted', async () => (await missing(b('moved'))) && !(await fs.readdir(m2.dir)).includes('moved'));

      // And the other way round.
      await fs.writeFile(b('back.txt'), 'from 2');
      await seen('(mount 1) a file made through mount 2', async () => (await fs.readFile(a('back.txt'), 'utf8')) === 'from 2');
      assert.deepEqual(await keysUnder(cl.client, ''), ['back.txt']);
    });
  });

  describe('a stock tracker (extensions off)', () => {
    let c: Cluster | undefined;
    let m: Mount;
    before(async () => {
      if (skip) return;
      c = await startCluster({ engine, tracker: { extensions: false } });
      const cl = c;
      await cl.client.storeBuffer('pre/a.txt', Buffer.from('A'));
      await cl.client.storeBuffer('pre/sub/b.txt', Buffer.from('BB'));
      await cl.client.storeBuffer('pre/100%/c.txt', Buffer.from('CCC'));
      await cl.client.storeBuffer('pre/back\\slash/d.txt', Buffer.from('DDDD'));
      await cl.client.storeBuffer('pre2/e.txt', Buffer.from('E'));
      m = await mount(cl.trackers, { domain: 'default' });
    });
    after(async () => {
      await m?.stop();
      await c?.stop();
    });

    test('the mount says it is a stock tracker', async (t) => {
      if (skip) return t.skip(skip);
      assert.match(m.output(), /mogfs mounted domain default at .*\(stock tracker: no attributes, slower listings\)/);
    });

    test('listings come from list_keys, with sizes, for prefixes with % and \\ too', async (t) => {
      if (skip) return t.skip(skip);
      assert.deepEqual((await fs.readdir(m.dir)).sort(), ['pre', 'pre2']);
      assert.deepEqual((await fs.readdir(path.join(m.dir, 'pre'))).sort(), ['100%', 'a.txt', 'back\\slash', 'sub']);
      assert.deepEqual(await fs.readdir(path.join(m.dir, 'pre/100%')), ['c.txt']);
      assert.deepEqual(await fs.readdir(path.join(m.dir, 'pre/back\\slash')), ['d.txt']);
      assert.equal((await fs.lstat(path.join(m.dir, 'pre/100%/c.txt'))).size, 3);
      assert.equal(await fs.readFile(path.join(m.dir, 'pre/back\\slash/d.txt'), 'utf8'), 'DDDD');
      assert.equal(await fs.readFile(path.join(m.dir, 'pre/sub/b.txt'), 'utf8'), 'BB');
    });

    test('a directory whose name list_keys refuses in a prefix (%, \\) can be renamed and back', async (t) => {
      if (skip) return t.skip(skip);
      const cl = c as Cluster;
      for (const name of ['100%', 'back\\slash']) {
        const file = name === '100%' ? 'c.txt' : 'd.txt';
        await fs.rename(path.join(m.dir, 'pre', name), path.join(m.dir, 'pre/plain'));
        assert.deepEqual(await keysUnder(cl.client, 'pre/plain/'), [`pre/plain/${file}`]);
        assert.ok(await keyGone(cl.client.fileInfo(`pre/${name}/${file}`)));
        await fs.rename(path.join(m.dir, 'pre/plain'), path.join(m.dir, 'pre', name));
        assert.ok(await keyGone(cl.client.fileInfo(`pre/plain/${file}`)));
        assert.ok((await cl.client.fileInfo(`pre/${name}/${file}`)).length > 0);
        assert.deepEqual(await fs.readdir(path.join(m.dir, 'pre', name)), [file]);
      }
    });

    test('files and directories: create, read, rename, replace, delete; mkdir and rmdir', async (t) => {
      if (skip) return t.skip(skip);
      const cl = c as Cluster;
      const p = (s: string): string => path.join(m.dir, s);
      await fs.mkdir(p('work'));
      assert.ok((await fs.lstat(p('work'))).isDirectory());
      assert.deepEqual(await fs.readdir(p('work')), []);
      const f = randomBytes(200_000);
      await fs.writeFile(p('work/f.bin'), f);
      assert.ok((await cl.client.getBuffer('work/f.bin')).equals(f));
      assert.ok((await fs.readFile(p('work/f.bin'))).equals(f));
      await sh('cp', [p('work/f.bin'), p('work/copy.bin')]);
      assert.ok((await cl.client.getBuffer('work/copy.bin')).equals(f));

      // A file rename, then one that replaces a file (delete then rename on a stock tracker).
      await fs.rename(p('work/f.bin'), p('work/g.bin'));
      assert.ok(await keyGone(cl.client.fileInfo('work/f.bin')));
      assert.ok((await cl.client.getBuffer('work/g.bin')).equals(f));
      await fs.writeFile(p('work/h.bin'), 'to be replaced');
      await fs.rename(p('work/g.bin'), p('work/h.bin'));
      assert.ok(await keyGone(cl.client.fileInfo('work/g.bin')));
      assert.ok((await cl.client.getBuffer('work/h.bin')).equals(f));
      assert.ok((await fs.readFile(p('work/h.bin'))).equals(f));

      // A directory rename moves every key (one rename per key there).
      await fs.mkdir(p('work/deep'));
      await fs.writeFile(p('work/deep/x.txt'), 'x');
      await fs.rename(p('work'), p('done'));
      assert.deepEqual(await keysUnder(cl.client, 'work/'), []);
      assert.deepEqual(await keysUnder(cl.client, 'done/'), ['done/.mogfs-dir', 'done/copy.bin', 'done/deep/.mogfs-dir', 'done/deep/x.txt', 'done/h.bin']);
      assert.deepEqual((await fs.readdir(p('done'))).sort(), ['copy.bin', 'deep', 'h.bin']);
      assert.equal(await fs.readFile(p('done/deep/x.txt'), 'utf8'), 'x');
      await assert.rejects(fs.lstat(p('work')), isErr('ENOENT'));

      // Deletes; rmdir of a non-empty directory is refused, of an empty one works.
      await assert.rejects(fs.rmdir(p('done/deep')), isErr('ENOTEMPTY'));
      await fs.unlink(p('done/deep/x.txt'));
      assert.ok(await keyGone(cl.client.fileInfo('done/deep/x.txt')));
      await fs.rmdir(p('done/deep'));
      await assert.rejects(fs.lstat(p('done/deep')), isErr('ENOENT'));
      await fs.rm(p('done'), { recursive: true });
      assert.deepEqual(await keysUnder(cl.client, 'done/'), []);
      assert.deepEqual((await fs.readdir(m.dir)).sort(), ['pre', 'pre2']);
    });

    test('chmod, utimens and symlink fail with EPERM (no attribute tables)', async (t) => {
      if (skip) return t.skip(skip);
      const file = path.join(m.dir, 'pre/a.txt');
      const dir = path.join(m.dir, 'pre');
      await fs.mkdir(path.join(m.dir, 'marked'));
      for (const target of [file, dir, path.join(m.dir, 'marked')]) {
        await assert.rejects(fs.chmod(target, 0o600), isErr('EPERM'), `chmod ${target}`);
        await assert.rejects(fs.utimes(target, new Date(1_000_000_000_000), new Date(1_000_000_000_000)), isErr('EPERM'), `utimes ${target}`);
      }
      await assert.rejects(fs.symlink('a.txt', path.join(m.dir, 'pre/link')), isErr('EPERM'));
      await assert.rejects(fs.lstat(path.join(m.dir, 'pre/link')), isErr('ENOENT'));
      // Nothing changed: the file is as stored.
      assert.equal(await fs.readFile(file, 'utf8'), 'A');
      assert.equal((await fs.lstat(file)).mode & 0o7777, 0o644);
      await fs.rmdir(path.join(m.dir, 'marked'));
    });
  });

  describe('the whole-cluster mount', () => {
    let c: Cluster | undefined;
    let m: Mount;
    const clients: MogileFS[] = [];
    const domainClient = (domain: string): MogileFS => {
      const cl = new MogileFS({ trackers: (c as Cluster).trackers, domain });
      clients.push(cl);
      return cl;
    };
    const domains = async (): Promise<string[]> => (await (c as Cluster).admin.getDomains()).map((d) => d.name).sort();
    before(async () => {
      if (skip) return;
      c = await startCluster({ engine });
      await c.admin.createDomain('other');
      m = await mount(c.trackers, {});
    });
    after(async () => {
      await m?.stop();
      for (const cl of clients) await cl.close();
      await c?.stop();
    });

    test('domains are the top-level directories; mkdir makes one, rmdir removes an empty one', async (t) => {
      if (skip) return t.skip(skip);
      assert.match(m.output(), /mogfs mounted every domain at /);
      assert.deepEqual((await fs.readdir(m.dir)).sort(), await domains());
      assert.deepEqual((await fs.readdir(m.dir)).sort(), ['default', 'other']);
      assert.ok((await fs.lstat(path.join(m.dir, 'other'))).isDirectory());

      await fs.mkdir(path.join(m.dir, 'made-here'));
      assert.ok((await domains()).includes('made-here'), 'mkdir at the top made no domain');
      assert.ok((await fs.readdir(m.dir)).includes('made-here'));
      await fs.writeFile(path.join(m.dir, 'made-here/inside.txt'), 'inside');
      assert.equal((await domainClient('made-here').getBuffer('inside.txt')).toString(), 'inside');

      // Not empty: refused, and the domain stays.
      await assert.rejects(fs.rmdir(path.join(m.dir, 'made-here')), isErr('ENOTEMPTY'));
      assert.ok((await domains()).includes('made-here'));
      await fs.unlink(path.join(m.dir, 'made-here/inside.txt'));
      await fs.rmdir(path.join(m.dir, 'made-here'));
      assert.ok(!(await domains()).includes('made-here'), 'rmdir of an empty domain left it');
      await assert.rejects(fs.lstat(path.join(m.dir, 'made-here')), isErr('ENOENT'));

      // A domain with files is not empty either.
      await (c as Cluster).client.storeBuffer('keeps/it.txt', Buffer.from('busy'));
      await assert.rejects(fs.rmdir(path.join(m.dir, 'default')), isErr('ENOTEMPTY'));
      assert.ok((await domains()).includes('default'));
    });

    test('the top level holds domains only: no files there (EPERM)', async (t) => {
      if (skip) return t.skip(skip);
      await assert.rejects(fs.writeFile(path.join(m.dir, 'top.txt'), 'x'), isErr('EPERM'));
      await assert.rejects(fs.lstat(path.join(m.dir, 'top.txt')), isErr('ENOENT'));
      const r = await sh('cp', ['/etc/hostname', path.join(m.dir, 'top2.txt')], { allowFail: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Operation not permitted/);
      // Nor can a file be moved there, or a domain renamed.
      await fs.writeFile(path.join(m.dir, 'default/f.txt'), 'f');
      await assert.rejects(fs.rename(path.join(m.dir, 'default/f.txt'), path.join(m.dir, 'top3.txt')), isErr('EPERM'));
      await assert.rejects(fs.rename(path.join(m.dir, 'other'), path.join(m.dir, 'renamed-domain')), isErr('EPERM'));
      assert.equal(await fs.readFile(path.join(m.dir, 'default/f.txt'), 'utf8'), 'f');
      assert.deepEqual((await fs.readdir(m.dir)).sort(), await domains());
    });

    test('mv between domains copies and deletes (EXDEV); the file lands in the other domain', async (t) => {
      if (skip) return t.skip(skip);
      const def = (c as Cluster).client;
      const other = domainClient('other');
      const body = randomBytes(300_000);
      // Written through the mount (a key stored with the client shows only after the cache time).
      await fs.writeFile(path.join(m.dir, 'default/tomove.bin'), body);
      assert.ok((await def.getBuffer('tomove.bin')).equals(body));
      await fs.mkdir(path.join(m.dir, 'default/dir'));
      await fs.writeFile(path.join(m.dir, 'default/dir/a.txt'), 'a');
      await fs.writeFile(path.join(m.dir, 'default/dir/b.txt'), 'bb');

      // rename(2) itself says EXDEV...
      await assert.rejects(fs.rename(path.join(m.dir, 'default/tomove.bin'), path.join(m.dir, 'other/tomove.bin')), isErr('EXDEV'));
      // ...so mv copies and deletes.
      await sh('mv', [path.join(m.dir, 'default/tomove.bin'), path.join(m.dir, 'other/tomove.bin')]);
      assert.ok((await other.getBuffer('tomove.bin')).equals(body));
      assert.ok(await keyGone(def.fileInfo('tomove.bin')), 'the file is still in the first domain');
      assert.ok((await fs.readFile(path.join(m.dir, 'other/tomove.bin'))).equals(body));
      await assert.rejects(fs.lstat(path.join(m.dir, 'default/tomove.bin')), isErr('ENOENT'));

      await sh('mv', [path.join(m.dir, 'default/dir'), path.join(m.dir, 'other/')]);
      assert.equal((await other.getBuffer('dir/a.txt')).toString(), 'a');
      assert.equal((await other.getBuffer('dir/b.txt')).toString(), 'bb');
      assert.deepEqual(await keysUnder(def, 'dir/'), []);
      assert.deepEqual((await fs.readdir(path.join(m.dir, 'other/dir'))).sort(), ['a.txt', 'b.txt']);
      await assert.rejects(fs.lstat(path.join(m.dir, 'default/dir')), isErr('ENOENT'));
    });
  });
});
