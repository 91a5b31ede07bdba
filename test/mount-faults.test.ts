/**
 * Storage node faults under a real FUSE mount, on both engines.
 *
 * A tree (several files of several MiB, some past the streaming threshold,
 * and many small ones) is copied in with `cp -r` while one storage node (and,
 * in a second run, both) is stopped part way, with an upload to it in flight.
 * Whatever cp reports, what the mount shows afterwards must be intact: every
 * visible file complete and correct (or, while its only copy is on a stopped
 * node, unreadable, never short or wrong), no stray names, every file cp did
 * not complain about present, the client's list_keys in agreement with the
 * mount, no upload temp file on a node and no spool file left. With the nodes
 * back the mount keeps working. A write whose upload cannot succeed at all
 * (both nodes stopped) fails at close() and leaves no empty, partial or stale
 * file behind; the spool keeps what was written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { mount, mountSkipReason, sh, stopAllMounts } from './helpers/mount';
import type { Mount, ShResult } from './helpers/mount';
import { MogError } from '../src/client';
import { MARKER } from '../src/vfs/names';

const MiB = 1024 * 1024;

/** The source tree: relative path -> content (about 45 MiB). */
function makeTree(): Map<string, Buffer> {
  const t = new Map<string, Buffer>();
  t.set('big-12m.bin', randomBytes(12 * MiB)); // past the 8 MiB streaming threshold
  t.set('big-6m.bin', randomBytes(6 * MiB));
  t.set('sub/big-9m.bin', randomBytes(9 * MiB + 12345));
  t.set('sub/big-5m.bin', randomBytes(5 * MiB));
  for (let i = 0; i < 12; i++) t.set(`mid/m${String(i).padStart(2, '0')}.bin`, randomBytes(MiB + i * 4099));
  for (let i = 0; i < 40; i++) t.set(`small/d${i % 4}/s${String(i).padStart(2, '0')}.txt`, randomBytes(100 + i * 997));
  t.set('small/empty.txt', Buffer.alloc(0));
  return t;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Every regular file under `root` (relative path -> size) and every other non-directory name, with async calls only. */
async function walk(root: string): Promise<{ files: Map<string, number>; other: string[] }> {
  const files = new Map<string, number>();
  const other: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const name of await fs.readdir(path.join(root, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await fs.lstat(path.join(root, r));
      if (st.isDirectory()) await visit(r);
      else if (st.isFile()) files.set(r, st.size);
      else other.push(r);
    }
  };
  await visit('');
  return { files, other };
}

/** Keys under `prefix` that are files (directory markers left out), as paths relative to it. */
async function storedFiles(c: Cluster, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of c.client.keys(prefix)) {
    if (k.endsWith(`/${MARKER}`) && (await c.client.fileInfo(k)).length === 0) continue;
    out.push(k.slice(prefix.length));
  }
  return out.sort();
}

/** Every file below `dir` whose name ends in `suffix` (missing dirs are empty). */
async function filesEndingIn(dir: string, suffix: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...await filesEndingIn(p, suffix));
    else if (e.name.endsWith(suffix)) out.push(p);
  }
  return out;
}

/** No upload temp file on any storage node, and no spool file of the mount left once handles are released. */
async function noLeftovers(c: Cluster, spool: string): Promise<boolean> {
  const puts = (await Promise.all(c.nodes.map((n) => filesEndingIn(n.docroot, '.put')))).flat();
  const spooled = (await fs.readdir(spool)).filter((n) => n.endsWith('.spool'));
  return puts.length === 0 && spooled.length === 0;
}

/** What close() says when the upload failed: EIO, or ENOSPC once the tracker knows no device can take it. */
function uploadFailed(e: NodeJS.ErrnoException): boolean {
  return e.code === 'EIO' || e.code === 'ENOSPC';
}

async function allWritable(c: Cluster): Promise<boolean> {
  const devs = await c.admin.getDevices();
  return devs.length === 4 && devs.every((d) => d.observed_state === 'writeable');
}

forEachEngine((engine) => {
  let c: Cluster;
  let m: Mount;
  let skip: string | null = null;
  let src: string;
  let spool: string;
  let tree: Map<string, Buffer>;

  before(async () => {
    skip = await mountSkipReason();
    if (skip) return;
    src = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-faults-src-'));
    tree = makeTree();
    for (const [rel, buf] of tree) {
      await fs.mkdir(path.dirname(path.join(src, rel)), { recursive: true });
      await fs.writeFile(path.join(src, rel), buf);
    }
    c = await startCluster({ engine });
    spool = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-faults-spool-'));
    m = await mount(c.trackers, { domain: 'default', args: ['--spool-dir', spool] });
  });
  after(async () => {
    await stopAllMounts();
    if (c) {
      await c.startNode(0).catch(() => undefined);
      await c.startNode(1).catch(() => undefined);
      await c.stop();
    }
    if (src) await fs.rm(src, { recursive: true, force: true });
    if (spool) await fs.rm(spool, { recursive: true, force: true });
  });

  /**
   * The mount's view of `dir` checked against the source tree and the tracker. With
   * `downDevs`, a file may fail to read (EIO) only when every copy the tracker knows of is on
   * those devices (a file stored just before its node stopped, not replicated yet); it may
   * never read back short or wrong. Resolves to the files missing, and those unreadable.
   */
  async function checkIntact(dir: string, cpStderr: string, cpCode: number | null, downDevs: number[] = []): Promise<{ absent: string[]; unreadable: string[] }> {
    const { files, other } = await walk(path.join(m.dir, dir));
    assert.deepEqual(other, [], 'only files and directories are visible');
    const stray = [...files.keys()].filter((rel) => !tree.has(rel));
    assert.deepEqual(stray, [], 'names that are not in the source (spool or temp names?)');
    const unreadable: string[] = [];
    for (const [rel, size] of files) {
      const want = tree.get(rel) as Buffer;
      assert.equal(size, want.length, `${dir}/${rel}: size ${size}, source ${want.length}`);
      let got: Buffer;
      try {
        got = await fs.readFile(path.join(m.dir, dir, rel));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EIO' || downDevs.length === 0) throw e;
        const info = await c.client.fileInfo(`${dir}/${rel}`, { devices: true });
        assert.ok((info.devids ?? []).every((d) => downDevs.includes(d)), `${dir}/${rel}: EIO although it has a copy on a running node (devids ${info.devids})`);
        unreadable.push(rel);
        continue;
      }
      assert.equal(sha(got), sha(want), `${dir}/${rel}: content differs from the source`);
    }
    // Whatever is missing was reported by cp (the file, or a directory above it that cp could
    // not make); if cp reported nothing, nothing is missing.
    const absent = [...tree.keys()].filter((rel) => !files.has(rel));
    const reported = (rel: string): boolean => {
      const parts = rel.split('/');
      return parts.some((_, i) => cpStderr.includes(`'${path.join(m.dir, dir, ...parts.slice(0, i + 1))}'`));
    };
    for (const rel of absent) assert.ok(reported(rel), `${rel} is missing, yet cp reported no error for it:\n${cpStderr}`);
    if (cpCode === 0) assert.deepEqual(absent, [], 'cp succeeded, so every file must be there');
    // The tracker agrees with the mount.
    assert.deepEqual(await storedFiles(c, `${dir}/`), [...files.keys()].sort(), 'list_keys and the mount disagree');
    return { absent, unreadable };
  }

  /**
   * cp -r of the source tree into `dir`, with the storage nodes `stop` stopped once the first
   * files are stored and cp is still going; then the checks that hold while they are down, and
   * again once they are back.
   */
  async function copyThroughFault(t: { diagnostic(s: string): void }, dir: string, stop: number[]): Promise<{ code: number | null; absent: string[] }> {
    const keptBefore = (await filesEndingIn(path.join(spool, 'failed'), '')).length;
    const started = Date.now();
    const cp = sh('cp', ['-r', src + '/.', path.join(m.dir, dir)], { allowFail: true });
    let cpDone = false;
    void cp.then(() => { cpDone = true; });
    // Part way: some files are stored, and an upload to a node about to stop is under way
    // (its temp file is there), while cp is still going.
    await c.waitFor('the first files of the copy to be stored, and an upload in flight', async () => cpDone || (
      (await c.client.listKeys(`${dir}/`, { limit: 10 })).keys.length >= 2 &&
      (await Promise.all(stop.map((i) => filesEndingIn(c.nodes[i].docroot, '.put')))).flat().length > 0
    ), 60_000);
    assert.equal(cpDone, false, 'cp finished before the node could be stopped: the tree is too small to test a fault mid-copy');
    for (const i of stop) await c.stopNode(i);
    try {
      return await checkFault(t, dir, stop, cp, started, keptBefore);
    } finally {
      for (const i of stop) await c.startNode(i);
      await c.waitFor('every device writeable again', () => allWritable(c), 30_000);
    }
  }

  async function checkFault(
    t: { diagnostic(s: string): void }, dir: string, stop: number[], cp: Promise<ShResult>, started: number, keptBefore: number,
  ): Promise<{ code: number | null; absent: string[] }> {
    const stoppedAt = Date.now() - started;
    const r = await cp;
    t.diagnostic(`nodes ${stop.join(',')} stopped after ${stoppedAt} ms; cp exited ${r.code} after ${Date.now() - started} ms; ` +
      `mount log: ${(m.log().match(/upload failed/g) ?? []).length} failed uploads so far`);
    if (r.code !== 0) {
      assert.match(r.stderr, /^cp: /m, `cp failed (${r.code}) without saying why`);
    } else {
      assert.equal(r.stderr, '', 'cp succeeded but printed errors');
    }
    // cp has closed every file, but the mount releases them a moment later (the kernel sends
    // release after close returns): once it has, no spool file is left, and no half-written
    // upload is left on a storage node.
    await c.waitFor('temp and spool files to go', () => noLeftovers(c, spool), 10_000);
    const downDevs = stop.flatMap((i) => c.nodes[i].devids);
    const { absent, unreadable } = await checkIntact(dir, r.stderr, r.code, downDevs);
    t.diagnostic(`after the fault: ${absent.length} files missing (reported by cp), ${unreadable.length} unreadable until the nodes are back`);
    // What could not be uploaded is kept in the spool's failed/ (one per close cp reported failing).
    // A close that failed may still be followed by a successful upload when the file is
    // released (the mount retries it then), so only the failed closes whose file is absent
    // count. Files under a directory cp could not make were never written: nothing is kept.
    const kept = (await filesEndingIn(path.join(spool, 'failed'), '')).length - keptBefore;
    const failedCloses = [...r.stderr.matchAll(/^cp: failed to close '([^']+)'/gm)].map((x) => path.relative(path.join(m.dir, dir), x[1]));
    const recovered = failedCloses.filter((rel) => !absent.includes(rel));
    if (recovered.length > 0) t.diagnostic(`close failed but the upload at release succeeded: ${recovered.join(', ')}`);
    assert.equal(kept, failedCloses.length - recovered.length, 'files kept in the spool\'s failed/ for the failed closes');

    // The nodes come back; what the mount shows is still there, and now all of it reads back whole.
    for (const i of stop) await c.startNode(i);
    await c.waitFor('every device writeable again', () => allWritable(c), 30_000);
    assert.deepEqual((await checkIntact(dir, r.stderr, r.code)).absent, absent);
    return { code: r.code, absent };
  }

  test('a storage node stopped during cp -r: what the mount shows is complete and correct', async (t) => {
    if (skip) return t.skip(skip);
    await copyThroughFault(t, 'copy1', [1]);
    // The mount keeps working.
    await sh('cp', ['-r', src + '/.', path.join(m.dir, 'copy2')]);
    const diff = await sh('diff', ['-r', src, path.join(m.dir, 'copy2')], { allowFail: true });
    assert.equal(diff.code, 0, `diff after the node came back:\n${diff.stdout}${diff.stderr}`);
    assert.deepEqual(await storedFiles(c, 'copy2/'), [...tree.keys()].sort());
  });

  test('both storage nodes stopped during cp -r: cp reports what did not make it, the rest is intact', async (t) => {
    if (skip) return t.skip(skip);
    const { code, absent } = await copyThroughFault(t, 'copy3', [0, 1]);
    assert.notEqual(code, 0, 'cp cannot have stored everything with no storage node');
    assert.ok(absent.length > 0);
    // Copying again fills in what was missing.
    await sh('cp', ['-r', src + '/.', path.join(m.dir, 'copy3')]);
    const diff = await sh('diff', ['-r', src, path.join(m.dir, 'copy3')], { allowFail: true });
    assert.equal(diff.code, 0, `diff after copying again:\n${diff.stdout}${diff.stderr}`);
  });

  test('an upload that cannot succeed fails close() and leaves no empty or stale file', async (t) => {
    if (skip) return t.skip(skip);
    const old = randomBytes(70_000);
    let failedAt = 0;
    await c.waitFor('every device writeable', () => allWritable(c), 30_000);
    const keptBefore = new Set(await filesEndingIn(path.join(spool, 'failed'), ''));
    await fs.writeFile(path.join(m.dir, 'keep.bin'), old);
    assert.ok((await c.client.getBuffer('keep.bin')).equals(old));
    await c.stopNode(0);
    await c.stopNode(1);
    try {
      // A new file: close() reports the failed upload.
      const fh = await fs.open(path.join(m.dir, 'new.bin'), 'w');
      await fh.write(randomBytes(300_000));
      await assert.rejects(fh.close(), uploadFailed);
      // cp of a several-MiB file: exits non-zero and says so.
      const r = await sh('cp', [path.join(src, 'big-6m.bin'), path.join(m.dir, 'new2.bin')], { allowFail: true });
      assert.notEqual(r.code, 0, 'cp to a cluster with no storage node succeeded');
      assert.match(r.stderr, /new2\.bin/);
      // Rewriting an existing file: fails too, and the old content stays.
      await assert.rejects(fs.writeFile(path.join(m.dir, 'keep.bin'), randomBytes(5000)), uploadFailed);

      // Once the handles are released (and the kernel's caches expire), neither new file is visible,
      // not even as an empty one, and keep.bin shows its stored size.
      const gone = async (name: string): Promise<boolean> => {
        const st = await fs.lstat(path.join(m.dir, name)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
        return st === null && !(await fs.readdir(m.dir)).includes(name);
      };
      await c.waitFor('new.bin and new2.bin to vanish', async () => (await gone('new.bin')) && (await gone('new2.bin')), 5000);
      await c.waitFor('keep.bin to show its stored size', async () => (await fs.lstat(path.join(m.dir, 'keep.bin'))).size === old.length, 5000);
      failedAt = Date.now();
    } finally {
      await c.startNode(0);
      await c.startNode(1);
    }
    for (const k of ['new.bin', 'new2.bin']) {
      await assert.rejects(c.client.fileInfo(k), (e: unknown) => e instanceof MogError && e.code === 'unknown_key', `${k} was stored`);
    }
    await c.waitFor('every device writeable again', () => allWritable(c), 30_000);
    assert.ok((await fs.readFile(path.join(m.dir, 'keep.bin'))).equals(old), 'keep.bin lost its content');
    assert.ok(!(await fs.readdir(m.dir)).some((n) => n.startsWith('new')), 'a failed file showed up later');
    // The content that could not be uploaded is not lost: the spool keeps it in failed/.
    const kept = (await filesEndingIn(path.join(spool, 'failed'), '')).filter((f) => !keptBefore.has(f)).map((f) => path.basename(f).replace(/^\d+-/, '')).sort();
    assert.deepEqual(kept, ['keep.bin', 'new.bin', 'new2.bin']);
    assert.equal((await fs.readFile(path.join(spool, 'failed', (await fs.readdir(path.join(spool, 'failed'))).find((n) => n.endsWith('-new2.bin')) as string))).length, 6 * MiB);
    await c.waitFor('temp and spool files to go', () => noLeftovers(c, spool), 10_000);
    // And writing works again. Not at once, though: the kernel keeps the dentry of a file the
    // mount created for up to --cache-time (1 s here) and nothing tells it the file is gone, so an
    // open(O_CREAT) of the same name in that window reaches the mount as a plain open: ENOENT.
    await new Promise((r) => setTimeout(r, Math.max(0, failedAt + 1500 - Date.now())));
    const again = randomBytes(123_456);
    await fs.writeFile(path.join(m.dir, 'new.bin'), again);
    assert.ok((await c.client.getBuffer('new.bin')).equals(again));
    assert.ok((await fs.readFile(path.join(m.dir, 'new.bin'))).equals(again));
  });
});
