/**
 * The shared mount smoke suite (cp -a, diff, mtimes, rsync -a twice, mv of a
 * directory and a file, rm -r) on a real FUSE mount of a domain, on both
 * engines; and the mount's own basics: df, xattrs, symlinks, hard links.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { mount, mountSkipReason, sh, stopAllMounts, suite } from './helpers/mount';
import type { Mount } from './helpers/mount';

forEachEngine((engine) => {
  let c: Cluster;
  let m: Mount;
  let skip: string | null = null;
  before(async () => {
    skip = await mountSkipReason();
    if (skip) return;
    c = await startCluster({ engine });
    m = await mount(c.trackers, { domain: 'default' });
  });
  after(async () => {
    await stopAllMounts();
    await c?.stop();
  });

  test('mount-smoke.sh passes completely', async (t) => {
    if (skip) return t.skip(skip);
    const r = await sh('bash', [await suite('mount-smoke.sh'), m.dir], { allowFail: true, timeoutMs: 600_000 });
    const summary = /mount-smoke: passed=(\d+) failed=(\d+)/.exec(r.stdout);
    assert.ok(summary, `no summary line:\n${r.stdout}\n${r.stderr}`);
    assert.equal(Number(summary[2]), 0, `failures:\n${r.stdout.split('\n').filter((l) => l.startsWith('FAIL')).join('\n')}\n${m.log()}`);
    assert.ok(Number(summary[1]) >= 19, r.stdout);
    assert.equal(r.code, 0);
  });

  test('df shows the devices\' space; symlinks keep their target; hard links are refused', async (t) => {
    if (skip) return t.skip(skip);
    const df = await sh('df', ['-P', '-B1', m.dir]);
    const [, size, used, avail] = df.stdout.trim().split('\n')[1].split(/\s+/).map((x, i) => (i === 0 ? 0 : Number(x)));
    assert.ok(size > 0 && used >= 0 && avail > 0 && avail <= size, df.stdout);
    await fs.writeFile(path.join(m.dir, 'target.txt'), 'pointed at');
    await fs.symlink('target.txt', path.join(m.dir, 'link'));
    assert.equal(await fs.readlink(path.join(m.dir, 'link')), 'target.txt');
    assert.equal(await fs.readFile(path.join(m.dir, 'link'), 'utf8'), 'pointed at');
    assert.ok((await fs.lstat(path.join(m.dir, 'link'))).isSymbolicLink());
    await assert.rejects(fs.link(path.join(m.dir, 'target.txt'), path.join(m.dir, 'hard')), (e: NodeJS.ErrnoException) => e.code === 'EPERM');
  });

  test('xattrs: user.* kept, user.mogilefs.class and .paths, system.* answered as without ACLs', async (t) => {
    if (skip) return t.skip(skip);
    const f = path.join(m.dir, 'x.bin');
    await fs.writeFile(f, 'data');
    await sh('setfattr', ['-n', 'user.color', '-v', 'blue', f]);
    assert.equal((await sh('getfattr', ['--only-values', '-n', 'user.color', f])).stdout, 'blue');
    assert.match((await sh('getfattr', ['-d', f])).stdout, /user\.color="blue"/);
    assert.equal((await sh('getfattr', ['--only-values', '-n', 'user.mogilefs.class', f])).stdout, 'default');
    const paths = (await sh('getfattr', ['--only-values', '-n', 'user.mogilefs.paths', f])).stdout.split('\n');
    assert.ok(paths.length >= 1 && paths.every((p) => /^http:\/\/127\.0\.0\.[12]:\d+\/dev\d+\//.test(p)), paths.join(' '));
    const acl = await sh('getfattr', ['-n', 'system.posix_acl_access', f], { allowFail: true });
    assert.match(acl.stderr, /No such attribute/);
    const trusted = await sh('setfattr', ['-n', 'trusted.x', '-v', '1', f], { allowFail: true });
    assert.match(trusted.stderr, /Operation not supported/);
    // cp -a of a file with an xattr keeps it and exits 0.
    await sh('cp', ['-a', f, path.join(m.dir, 'x2.bin')]);
    assert.equal((await sh('getfattr', ['--only-values', '-n', 'user.color', path.join(m.dir, 'x2.bin')])).stdout, 'blue');
    await sh('setfattr', ['-x', 'user.color', f]);
    assert.doesNotMatch((await sh('getfattr', ['-d', f])).stdout, /user\.color/);
  });
});
