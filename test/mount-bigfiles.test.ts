/**
 * Large files through the mount: a file written in order streams to a
 * storage node while it is written (the upload is under way before close);
 * one rewritten behind what was already sent, or truncated, falls back to the
 * spool and still ends up exactly as written; ranged reads at any offset of a
 * large stored file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { mount, mountSkipReason, stopAllMounts } from './helpers/mount';
import type { Mount } from './helpers/mount';

const MiB = 1024 * 1024;
let c: Cluster;
let m: Mount;
let skip: string | null = null;

before(async () => {
  skip = await mountSkipReason();
  if (skip) return;
  c = await startCluster();
  m = await mount(c.trackers, { domain: 'default' });
});
after(async () => {
  await stopAllMounts();
  await c?.stop();
});

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

test('a file written in order is uploading before it is closed, and arrives whole', async (t) => {
  if (skip) return t.skip(skip);
  const data = randomBytes(24 * MiB);
  const fh = await fs.open(path.join(m.dir, 'stream.bin'), 'w');
  try {
    for (let off = 0; off < data.length; off += MiB) await fh.write(data, off, MiB, off);
    // Before close, an upload is open on the tracker: a tempfile row exists for the key.
    const open = await c.client.tracker.call('list_fids', { from: 0, to: 10 });
    assert.equal(Number(open.fid_count ?? 0), 0, 'nothing is committed before close');
    let streaming = false;
    for (let fid = 1; fid < 100 && !streaming; fid++) {
      const t = await c.store.getTempfile(fid);
      if (t?.dkey === 'stream.bin') streaming = true;
    }
    assert.ok(streaming, 'the upload started while the file was being written');
  } finally {
    await fh.close();
  }
  assert.equal(md5(await c.client.getBuffer('stream.bin')), md5(data));
});

test('rewriting behind the streamed part, or truncating, falls back to the spool and stays exact', async (t) => {
  if (skip) return t.skip(skip);
  const data = randomBytes(12 * MiB);
  const fh = await fs.open(path.join(m.dir, 'rewritten.bin'), 'w');
  try {
    for (let off = 0; off < data.length; off += MiB) await fh.write(data, off, MiB, off);
    const patch = randomBytes(5000);
    await fh.write(patch, 0, patch.length, 1000);
    patch.copy(data, 1000);
  } finally {
    await fh.close();
  }
  assert.equal(md5(await c.client.getBuffer('rewritten.bin')), md5(data));

  const cut = randomBytes(9 * MiB);
  const fh2 = await fs.open(path.join(m.dir, 'truncated.bin'), 'w');
  try {
    for (let off = 0; off < cut.length; off += MiB) await fh2.write(cut, off, MiB, off);
    await fh2.truncate(3 * MiB + 17);
  } finally {
    await fh2.close();
  }
  assert.equal(md5(await c.client.getBuffer('truncated.bin')), md5(cut.subarray(0, 3 * MiB + 17)));
  assert.equal((await fs.stat(path.join(m.dir, 'truncated.bin'))).size, 3 * MiB + 17);
});

test('ranged reads anywhere in a large stored file', async (t) => {
  if (skip) return t.skip(skip);
  const data = randomBytes(20 * MiB);
  await c.client.storeBuffer('ranged.bin', data);
  const fh = await fs.open(path.join(m.dir, 'ranged.bin'), 'r');
  try {
    for (const [pos, len] of [[15 * MiB + 3, 70_000], [10, 100], [20 * MiB - 5, 100], [7 * MiB, 3 * MiB], [0, 1]]) {
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      const want = data.subarray(pos, Math.min(data.length, pos + len));
      assert.equal(bytesRead, want.length, `read at ${pos}`);
      assert.ok(buf.subarray(0, bytesRead).equals(want), `content at ${pos}`);
    }
  } finally {
    await fh.close();
  }
  assert.equal(md5(await fs.readFile(path.join(m.dir, 'ranged.bin'))), md5(data));
});
