/**
 * `mogfs mount` as a sysadmin runs it: a dead mount (and empty spool) left by
 * a killed process is cleared on the next start; SIGTERM uploads what is still being written
 * and unmounts; --prefix shows (and writes) only keys under the prefix;
 * --read-only refuses writes; --class picks the class of new files; a mount
 * point already mounted, an unknown domain and a missing fusermount are
 * clear errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { cliEnv, MOGFS } from './helpers/cli';
import { mount, mountSkipReason, sh, stopAllMounts } from './helpers/mount';

let c: Cluster;
let skip: string | null = null;

before(async () => {
  skip = await mountSkipReason();
  if (skip) return;
  c = await startCluster();
  await c.admin.createClass('default', 'solo', { mindevcount: 1 });
});
after(async () => {
  await stopAllMounts();
  await c?.stop();
});

async function mounted(dir: string): Promise<boolean> {
  return (await fs.readFile('/proc/mounts', 'utf8')).split('\n').some((l) => l.split(' ')[1] === dir);
}

/** Runs `mogfs mount` expecting it to fail; resolves to its exit code and stderr. */
function failingMount(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MOGFS, 'mount', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

test('a mount whose process was killed is cleared on the next start', async (t) => {
  if (skip) return t.skip(skip);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-stale-'));
  const first = await mount(c.trackers, { domain: 'default', dir });
  await fs.writeFile(path.join(dir, 'before-kill.txt'), 'kept');
  const firstSpool = path.join(os.tmpdir(), `mogfs-spool-${first.proc.pid}`);
  await fs.access(firstSpool);
  first.proc.kill('SIGKILL');
  await new Promise((r) => first.proc.once('exit', r));
  await assert.rejects(fs.readdir(dir), (e: NodeJS.ErrnoException) => e.code === 'ENOTCONN');
  const second = await mount(c.trackers, { domain: 'default', dir });
  try {
    assert.equal(await fs.readFile(path.join(dir, 'before-kill.txt'), 'utf8'), 'kept');
    // The killed mount's (empty) spool directory is swept too.
    await assert.rejects(fs.access(firstSpool), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  } finally {
    await second.stop();
    await first.stop();
    await fs.rmdir(dir);
  }
  assert.equal(await mounted(dir), false);
});

test('SIGTERM uploads a file still open for writing, then unmounts', async (t) => {
  if (skip) return t.skip(skip);
  const m = await mount(c.trackers, { domain: 'default' });
  const fh = await fs.open(path.join(m.dir, 'open-at-exit.bin'), 'w');
  await fh.write(Buffer.alloc(100_000, 7));
  // The writer is still open when the mount is told to stop (as at shutdown).
  const stopping = m.stop();
  await fh.close().catch(() => undefined);
  await stopping;
  assert.equal(await mounted(m.dir), false);
  assert.deepEqual(await c.client.getBuffer('open-at-exit.bin'), Buffer.alloc(100_000, 7));
});

test('--prefix shows and writes only keys under it; --class sets the class of new files', async (t) => {
  if (skip) return t.skip(skip);
  await c.client.storeBuffer('pfx/in.txt', Buffer.from('inside'));
  await c.client.storeBuffer('pfxother.txt', Buffer.from('outside'));
  const m = await mount(c.trackers, { domain: 'default', prefix: 'pfx', args: ['--class', 'solo'] });
  try {
    assert.deepEqual(await fs.readdir(m.dir), ['in.txt']);
    await fs.writeFile(path.join(m.dir, 'new.txt'), 'made here');
    assert.equal((await c.client.getBuffer('pfx/new.txt')).toString(), 'made here');
    assert.equal((await c.client.fileInfo('pfx/new.txt')).class, 'solo');
    assert.equal((await sh('getfattr', ['--only-values', '-n', 'user.mogilefs.class', path.join(m.dir, 'new.txt')])).stdout, 'solo');
  } finally {
    await m.stop();
  }
});

test('--read-only refuses every change with EROFS and still reads', async (t) => {
  if (skip) return t.skip(skip);
  await c.client.storeBuffer('ro/file.txt', Buffer.from('read me'));
  const m = await mount(c.trackers, { domain: 'default', args: ['--read-only'] });
  try {
    assert.equal(await fs.readFile(path.join(m.dir, 'ro', 'file.txt'), 'utf8'), 'read me');
    const erofs = (e: NodeJS.ErrnoException): boolean => e.code === 'EROFS';
    await assert.rejects(fs.writeFile(path.join(m.dir, 'ro', 'new.txt'), 'x'), erofs);
    await assert.rejects(fs.unlink(path.join(m.dir, 'ro', 'file.txt')), erofs);
    await assert.rejects(fs.mkdir(path.join(m.dir, 'ro', 'd')), erofs);
    await assert.rejects(fs.rename(path.join(m.dir, 'ro', 'file.txt'), path.join(m.dir, 'ro', 'f2')), erofs);
  } finally {
    await m.stop();
  }
  assert.equal((await c.client.getBuffer('ro/file.txt')).toString(), 'read me');
});

test('clear errors: a mount point in use, an unknown domain, no fusermount', async (t) => {
  if (skip) return t.skip(skip);
  const m = await mount(c.trackers, { domain: 'default' });
  const env = await cliEnv();
  try {
    const busy = await failingMount(['--trackers', c.trackers.join(','), '--domain', 'default', m.dir], env);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /already mounted/);
  } finally {
    await m.stop();
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-err-'));
  try {
    const nodom = await failingMount(['--trackers', c.trackers.join(','), '--domain', 'nosuch', dir], env);
    assert.equal(nodom.code, 1);
    assert.match(nodom.stderr, /domain "nosuch" does not exist/);
    const nofuse = await failingMount(['--trackers', c.trackers.join(','), '--domain', 'default', dir], { ...env, PATH: '/nonexistent' });
    assert.equal(nofuse.code, 1);
    assert.match(nofuse.stderr, /cannot mount: fusermount is not on PATH/);
    assert.equal(await mounted(dir), false);
  } finally {
    await fs.rmdir(dir);
  }
});

test('--allow-other, --spool-limit (ENOSPC past it; what was written stays, as on a full disk), class set through user.mogilefs.class', async (t) => {
  if (skip) return t.skip(skip);
  const spool = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-spool-test-'));
  const m = await mount(c.trackers, { domain: 'default', args: ['--allow-other', '--spool-dir', spool, '--spool-limit', '2M'] });
  try {
    const line = (await fs.readFile('/proc/mounts', 'utf8')).split('\n').find((l) => l.split(' ')[1] === m.dir) ?? '';
    assert.match(line, /allow_other/);
    // Small files live in memory; a larger one goes to the spool, which holds 2 MiB at most.
    const fh = await fs.open(path.join(m.dir, 'too-big.bin'), 'w');
    let failed: NodeJS.ErrnoException | null = null;
    let written = 0;
    try {
      for (let i = 0; i < 8; i++) written += (await fh.write(Buffer.alloc(512 * 1024, i), 0, 512 * 1024, i * 512 * 1024)).bytesWritten;
    } catch (e) {
      failed = e as NodeJS.ErrnoException;
    } finally {
      await fh.close().catch(() => undefined);
    }
    assert.equal(failed?.code, 'ENOSPC');
    assert.ok(written > 0 && written < 4 * 1024 * 1024, `wrote ${written}`);
    assert.equal((await c.client.fileInfo('too-big.bin')).length, written);
    await fs.writeFile(path.join(m.dir, 'fits.bin'), Buffer.alloc(100_000, 1));
    await sh('setfattr', ['-n', 'user.mogilefs.class', '-v', 'solo', path.join(m.dir, 'fits.bin')]);
    assert.equal((await c.client.fileInfo('fits.bin')).class, 'solo');
    assert.equal((await sh('getfattr', ['--only-values', '-n', 'user.mogilefs.class', path.join(m.dir, 'fits.bin')])).stdout, 'solo');
  } finally {
    await m.stop();
    await fs.rm(spool, { recursive: true, force: true });
  }
});

test('small files use uploads opened ahead of need, and unmounting gives the unused ones back', async (t) => {
  if (skip) return t.skip(skip);
  const opened = async (): Promise<number[]> =>
    (await c.store.listStaleTempfiles(Math.floor(Date.now() / 1000) + 3600, 1000)).filter((r) => r.dkey === '.mogfs-upload').map((r) => r.fid);
  // A mount killed earlier in this file could not give its back (the tracker reaps those after its tempfile timeout).
  const before = new Set(await opened());
  const pending = async (): Promise<number> => (await opened()).filter((fid) => !before.has(fid)).length;
  const m = await mount(c.trackers, { domain: 'default' });
  try {
    for (let i = 0; i < 4; i++) await fs.writeFile(path.join(m.dir, `ahead-${i}.txt`), `file ${i}`);
    for (let i = 0; i < 4; i++) assert.equal((await c.client.getBuffer(`ahead-${i}.txt`)).toString(), `file ${i}`);
    // The later files were stored through uploads opened while the earlier ones were: some are waiting now.
    await c.waitFor('uploads opened ahead', async () => (await pending()) > 0);
  } finally {
    await m.stop();
  }
  assert.equal(await pending(), 0, 'the unused uploads were given back at unmount');
});
