/**
 * The file tools as a user runs them: the compiled `mogfs` spawned against a
 * real in-process cluster, checking output, exit codes and error lines.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { getAttrs } from '../src/client';
import { deadPort, privateHome, removePrivateHome, runMogfs } from './helpers/cli';

describe('mogfs file tools', () => {
  let c: Cluster;
  let dir: string;
  let base: string[];

  before(async () => {
    c = await startCluster();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-tools-'));
    base = [`--trackers=${c.trackers.join(',')}`, '--domain=default'];
    await c.admin.createClass('default', 'one', { mindevcount: 1 });
  });

  after(async () => {
    await c?.stop();
    await fs.rm(dir, { recursive: true, force: true });
    await removePrivateHome();
  });

  test('upload a file, fetch it to stdout and to a file, byte for byte', async () => {
    const data = crypto.randomBytes(300_000);
    const src = path.join(dir, 'pic.bin');
    await fs.writeFile(src, data);
    const mtime = new Date('2021-03-04T05:06:07.891Z');
    await fs.utimes(src, mtime, mtime);

    const up = await runMogfs(['upload', ...base, src, 'photos/pic.bin']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, '');

    const out = await runMogfs(['fetch', ...base, 'photos/pic.bin']);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdoutBytes.equals(data), 'stdout holds the stored bytes');

    const dst = path.join(dir, 'copy.bin');
    const f = await runMogfs(['fetch', ...base, 'photos/pic.bin', dst]);
    assert.equal(f.code, 0, f.stderr);
    assert.ok((await fs.readFile(dst)).equals(data));

    // upload keeps the file's mtime in the attribute table.
    const entry = await getAttrs(c.client, 'photos/pic.bin');
    assert.equal(entry.attrs.mtimeSec, Math.floor(mtime.getTime() / 1000));
    assert.equal(entry.length, data.length);
  });

  test('MogileFS-Utils flags: --key, --file=- from stdin, --class', async () => {
    const up = await runMogfs(['upload', ...base, '--key=stdin/one', '--file=-', '--class=one'], { input: 'why hello\n' });
    assert.equal(up.code, 0, up.stderr);
    const info = await c.client.fileInfo('stdin/one');
    assert.equal(info.class, 'one');
    assert.equal(info.length, 10);
    const f = await runMogfs(['mogfetch', ...base, '--key=stdin/one', '--file=-']);
    assert.equal(f.stdout, 'why hello\n');
  });

  test('upload --checksum and --checksum-verify send the MD5, kept by a class with a hashtype', async () => {
    await c.admin.createClass('default', 'summed', { mindevcount: 1, hashtype: 'MD5' });
    const body = 'checked bytes\n';
    const want = `MD5:${crypto.createHash('md5').update(body).digest('hex')}`;
    for (const [flag, key] of [['--checksum', 'sum/a'], ['--checksum-verify', 'sum/b']] as const) {
      const up = await runMogfs(['upload', ...base, flag, '-v', '--class=summed', '-', key], { input: body });
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stdout, `stored ${key}: fid ${(await c.client.fileInfo(key)).fid}, ${body.length} bytes, ${want}\n`);
      assert.equal((await c.client.fileInfo(key)).checksum, want, `${flag}: the class keeps it`);
    }
    // Without the flag no MD5 is sent, and the class has none to keep.
    const plain = await runMogfs(['upload', ...base, '-v', '--class=summed', '-', 'sum/c'], { input: body });
    assert.doesNotMatch(plain.stdout, /MD5/);
    assert.equal((await c.client.fileInfo('sum/c')).checksum, 'MISSING');
  });

  test('info and fileinfo print file_info and paths in mogfileinfo layout', async () => {
    await c.client.storeBuffer('info/a b', Buffer.from('12345'));
    const r = await runMogfs(['fileinfo', ...base, '--key=info/a b']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '- file: info/a b');
    assert.equal(lines[1], `  ${'class'.padStart(8)}: ${'default'.padStart(20)}`);
    assert.ok(lines.includes(`  ${'length'.padStart(8)}: ${'5'.padStart(20)}`), r.stdout);
    assert.ok(lines.some((l) => /^ - http:\/\/127\.0\.0\.[12]:\d+\/dev\d+\//.test(l)), r.stdout);

    const i = await runMogfs(['info', ...base, 'photos/pic.bin']);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stdout, /^ {5}mtime: +2021-03-04 05:06:07\.891000000$/m);
    assert.match(i.stdout, /^ {6}mode: +0100\d{3}$/m);
  });

  test('ls, ls -l, listkeys --key_prefix and listfids', async () => {
    for (const k of ['ls/a', 'ls/b/c', 'ls/b/d', 'lsx']) await c.client.storeBuffer(k, Buffer.from(k));
    const ls = await runMogfs(['ls', ...base, 'ls/']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, 'ls/a\nls/b/c\nls/b/d\n');

    const long = await runMogfs(['ls', '-l', ...base, 'ls/b/']);
    assert.equal(long.code, 0, long.stderr);
    const rows = long.stdout.trimEnd().split('\n').map((l) => l.trim().split(/\s+/));
    assert.equal(rows.length, 2);
    const fid = (await c.client.fileInfo('ls/b/c')).fid;
    // size fid devcount class mtime key
    assert.deepEqual([rows[0][0], rows[0][1], rows[0][3], rows[0].at(-1)], ['6', String(fid), 'default', 'ls/b/c']);
    assert.match(rows[0][2], /^[0-9]$/);

    const lk = await runMogfs(['listkeys', ...base, '--key_prefix=ls']);
    assert.equal(lk.stdout, 'ls/a\nls/b/c\nls/b/d\nlsx\n');

    const lf = await runMogfs(['listfids', `--trackers=${c.trackers[0]}`, `--fromfid=${fid - 1}`, '--count=1']);
    assert.equal(lf.code, 0, lf.stderr);
    assert.equal(lf.stdout, `fid ${fid}\nclass default\ndevcount ${rows[0][2]}\ndomain default\nkey ls/b/c\nlength 6\n\n`);
  });

  test('rename and delete, with their errors', async () => {
    await c.client.storeBuffer('mv/src', Buffer.from('x'));
    await c.client.storeBuffer('mv/taken', Buffer.from('y'));
    const taken = await runMogfs(['rename', ...base, 'mv/src', 'mv/taken']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /^mogfs rename: .*key_exists.*\n$/);

    const ok = await runMogfs(['mogrename', ...base, '--old_key=mv/src', '--new_key=mv/dst']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual((await c.client.listKeys('mv/')).keys, ['mv/dst', 'mv/taken']);

    const del = await runMogfs(['delete', ...base, 'mv/dst']);
    assert.equal(del.code, 0, del.stderr);
    const again = await runMogfs(['delete', ...base, 'mv/dst']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^mogfs delete: no such key in this domain \(unknown_key/);
    const gone = await runMogfs(['fetch', ...base, 'mv/dst']);
    assert.equal(gone.code, 1);
    assert.equal(gone.stdout, '');
    assert.equal(gone.stderr.split('\n').length, 2, 'one line');
    assert.match(gone.stderr, /unknown_key/);
  });

  test('a failed fetch into a file leaves no file behind', async () => {
    const dst = path.join(dir, 'never.bin');
    const r = await runMogfs(['fetch', ...base, 'no/such/key', dst]);
    assert.equal(r.code, 1);
    await assert.rejects(fs.stat(dst), { code: 'ENOENT' });
    assert.deepEqual((await fs.readdir(dir)).filter((n) => n.includes('never')), []);
  });

  test('wrong trackers, unknown domain, unknown class, missing file, no config', async () => {
    const port = await deadPort();
    const dead = await runMogfs(['ls', `--trackers=127.0.0.1:${port}`, '--domain=default']);
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /^mogfs ls: no tracker reachable at 127\.0\.0\.1:\d+.*\n$/);

    const dom = await runMogfs(['upload', `--trackers=${c.trackers[0]}`, '--domain=nosuch', __filename, 'k']);
    assert.equal(dom.code, 1);
    assert.match(dom.stderr, /^mogfs upload: no such domain: check --domain.*unreg_domain.*\n$/);

    const cls = await runMogfs(['upload', ...base, '--class=nosuch', __filename, 'k']);
    assert.equal(cls.code, 1);
    assert.match(cls.stderr, /unreg_class/);

    const missing = await runMogfs(['upload', ...base, path.join(dir, 'absent.txt'), 'k']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^mogfs upload: .*absent\.txt: no such file or directory\n$/);

    const none = await runMogfs(['ls']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^mogfs ls: no trackers given: use --trackers/);

    const nodom = await runMogfs(['ls', `--trackers=${c.trackers[0]}`]);
    assert.equal(nodom.code, 2);
    assert.match(nodom.stderr, /no domain given/);
  });

  test('trackers and domain from flags, then environment, then config file', async () => {
    await c.client.storeBuffer('cfg/k', Buffer.from('v'));
    const env = { MOGFS_TRACKERS: c.trackers.join(','), MOGFS_DOMAIN: 'default' };
    const fromEnv = await runMogfs(['ls', 'cfg/'], { env });
    assert.equal(fromEnv.stdout, 'cfg/k\n', fromEnv.stderr);

    // A flag beats the environment: a wrong domain in the environment is overridden.
    const flagWins = await runMogfs(['ls', '--domain=default', 'cfg/'], { env: { ...env, MOGFS_DOMAIN: 'nosuch' } });
    assert.equal(flagWins.stdout, 'cfg/k\n', flagWins.stderr);
    const envUsed = await runMogfs(['ls', 'cfg/'], { env: { ...env, MOGFS_DOMAIN: 'nosuch' } });
    assert.match(envUsed.stderr, /unreg_domain/);

    // ~/.mogilefs.conf in MogileFS-Utils' format.
    const home = await privateHome();
    await fs.writeFile(path.join(home, '.mogilefs.conf'), `# test\ntrackers = ${c.trackers.join(',')}\ndomain = default  # trailing comment\n`);
    try {
      const fromFile = await runMogfs(['ls', 'cfg/']);
      assert.equal(fromFile.stdout, 'cfg/k\n', fromFile.stderr);
      const envBeatsFile = await runMogfs(['ls', 'cfg/'], { env: { MOGFS_DOMAIN: 'nosuch' } });
      assert.match(envBeatsFile.stderr, /unreg_domain/);
    } finally {
      await fs.rm(path.join(home, '.mogilefs.conf'));
    }

    const conf = path.join(dir, 'alt.conf');
    await fs.writeFile(conf, `trackers = ${c.trackers.join(',')}\ndomain = default\n`);
    const fromConf = await runMogfs(['ls', `--conf=${conf}`, 'cfg/']);
    assert.equal(fromConf.stdout, 'cfg/k\n', fromConf.stderr);
    const badConf = await runMogfs(['ls', `--conf=${path.join(dir, 'nope.conf')}`]);
    assert.equal(badConf.code, 1);
    assert.match(badConf.stderr, /cannot read config file/);
  });

  test('stats reports files per domain and class, replication and devices', async () => {
    const r = await runMogfs(['stats', `--trackers=${c.trackers[0]}`]);
    assert.equal(r.code, 0, r.stderr);
    const files = (await c.store.listFids(0, 10_000)).filter((f) => f.classid === 0).length;
    assert.match(r.stdout, new RegExp(`^  default {14}default {4} +${files} +\\d+ +\\d+$`, 'm'));
    assert.match(r.stdout, /^Statistics for replication\.\.\.$/m);
    assert.match(r.stdout, /^ {2}dev1 {7}node1 +\d+ +alive$/m);
    assert.match(r.stdout, /^done$/m);
    const bad = await runMogfs(['stats', `--trackers=${c.trackers[0]}`, '--stats=bogus']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid stat "bogus"/);
  });
});
