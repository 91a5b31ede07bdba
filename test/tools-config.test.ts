/**
 * The pieces of the tools that need no cluster: the config loader's
 * precedence and file format, the key <-> path mapping of import/export,
 * and the progress line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadClientConfig, parseConfigText, parseTrackers } from '../src/cli/config';
import { normalizePrefix, relForKey, sameFile } from '../src/cli/import/localfs';
import { clock, Progress } from '../src/cli/import/progress';

test('config text: key = value, comments, first value wins, junk ignored', () => {
  assert.deepEqual(parseConfigText('# c\n trackers = a:1, b \ndomain=foo # note\nnot a setting\ndomain = bar\n'), {
    trackers: 'a:1, b', domain: 'foo',
  });
  assert.deepEqual(parseTrackers('a:1, b ,,c:7002'), ['a:1', 'b:7001', 'c:7002']);
});

test('precedence: flags, then environment, then --conf, $MOGUTILSCONF, ~/.mogilefs.conf, /etc', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-conf-'));
  try {
    await fs.writeFile(path.join(dir, '.mogilefs.conf'), 'trackers = home:1\ndomain = homedom\nclass = homecls\n');
    await fs.writeFile(path.join(dir, 'utils.conf'), 'domain = utilsdom\n');
    await fs.writeFile(path.join(dir, 'flag.conf'), 'class = flagcls\n');
    const env = { HOME: dir, MOGUTILSCONF: path.join(dir, 'utils.conf') };
    let cfg = await loadClientConfig({}, env);
    assert.deepEqual([cfg.trackers, cfg.domain, cfg.class], [['home:1'], 'utilsdom', 'homecls']);
    cfg = await loadClientConfig({ conf: path.join(dir, 'flag.conf') }, env);
    assert.equal(cfg.class, 'flagcls');
    cfg = await loadClientConfig({}, { ...env, MOGFS_TRACKERS: 'envhost', MOGFS_DOMAIN: 'envdom' });
    assert.deepEqual([cfg.trackers, cfg.domain], [['envhost:7001'], 'envdom']);
    cfg = await loadClientConfig({ trackers: 'x:2,y:3', domain: 'flagdom' }, { ...env, MOGFS_TRACKERS: 'envhost', MOGFS_DOMAIN: 'envdom' });
    assert.deepEqual([cfg.trackers, cfg.domain], [['x:2', 'y:3'], 'flagdom']);
    await assert.rejects(loadClientConfig({ conf: path.join(dir, 'missing.conf') }, env), /cannot read config file/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('prefix scheme: keys to paths and back, unsafe keys refused', () => {
  assert.equal(normalizePrefix('photos'), 'photos/');
  assert.equal(normalizePrefix('/photos/'), 'photos/');
  assert.equal(normalizePrefix(undefined), '');
  assert.equal(relForKey('p/', 'p/a/b c.jpg'), 'a/b c.jpg');
  for (const bad of ['p/', 'p/../x', 'p/a//b', 'p/./a', 'p/a/', 'q/a', `p/${'x'.repeat(256)}`]) assert.equal(relForKey('p/', bad), null, bad);
});

test('sameFile compares size and mtime to the nanosecond', () => {
  const remote = { key: 'k', fid: 1, length: 3, devcount: 2, class: 'default', attrs: { mtimeSec: 10, mtimeNsec: 5 }, xattrs: 0 };
  assert.equal(sameFile({ size: 3, attrs: { mtimeSec: 10, mtimeNsec: 5 } }, remote), true);
  assert.equal(sameFile({ size: 3, attrs: { mtimeSec: 10, mtimeNsec: 6 } }, remote), false);
  assert.equal(sameFile({ size: 4, attrs: { mtimeSec: 10, mtimeNsec: 5 } }, remote), false);
  assert.equal(sameFile({ size: 3, attrs: { mtimeSec: 10, mtimeNsec: 5 } }, { ...remote, attrs: {} }), false);
  assert.equal(sameFile({ size: 3, attrs: { mtimeSec: 10 } }, undefined), false);
});

test('progress: a redrawn line on a terminal, plain lines elsewhere', async () => {
  assert.equal(clock(75), '1:15');
  assert.equal(clock(3700), '1:01:40');
  const written: string[] = [];
  const out = { write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WritableStream;
  const tty = new Progress({ out, tty: true, verb: 'uploaded' });
  tty.start();
  tty.fileChecked(true);
  tty.fileChecked(false);
  tty.fileDone(1024);
  const deadline = Date.now() + 10_000;
  while (!written.some((s) => s.startsWith('\r\x1b[K')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  tty.stop();
  assert.match(written.find((s) => s.startsWith('\r\x1b[K')) ?? '', /^\r\x1b\[Kuploaded 1 files, 1\.0 KiB in 0:00 \(.*\/s, \d+ files\/s\); 2 checked, 1 unchanged$/);
  assert.equal(written.at(-1), '\n');

  written.length = 0;
  const plain = new Progress({ out, tty: false, verb: 'exported', lineIntervalMs: 10 });
  plain.start();
  plain.fileDone(5);
  while (written.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  plain.stop();
  assert.match(written[0], /^exported 1 files, 5 B in .*; 0 checked, 0 unchanged\n$/);
  assert.ok(!written.some((s) => s.includes('\r')));
});
