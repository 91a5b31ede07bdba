/**
 * A storage node killed mid-upload leaves the upload's temp file beside its
 * target. At its next start it removes such leftovers (src/storage/sweep.ts)
 * and nothing else: not `.fid` files, not files that merely look similar, not
 * the temp files of another process that is still running, nothing behind a
 * symlink.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { isTempName } from '../src/storage';
import { Processes, killHard, listFiles } from './helpers/faults';
import { waitFor } from './helpers/multitracker';

const procs = new Processes();
after(() => procs.stopAll());

/** A pid no process has now: one of a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

async function put(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
}

test('leftover temp files are removed at start-up; everything else stays', async () => {
  const root = await procs.tempDir('mogfs-sweep-');
  const docroot = path.join(root, 'docroot');
  const dead = deadPid();
  const fidDir = path.join(docroot, 'dev1', '0', '000', '000');
  const leftovers = [
    path.join(fidDir, `.mogstored-put-${dead}-0123456789ab-1.put`),
    path.join(fidDir, `.mogstored-put-${dead}-0123456789ab-2z.put`),
    path.join(docroot, 'dev2', `.mogstored-put-${dead}-ba9876543210-7.put`),
    path.join(docroot, 'dev2', 'usage.tmp-00112233aabb'),
  ];
  const kept = [
    path.join(fidDir, '0000000001.fid'),
    path.join(fidDir, '0000000002.fid'),
    // A running process's upload (this test's own pid under another stem).
    path.join(fidDir, `.mogstored-put-${process.pid}-0123456789ab-1.put`),
    // Only our exact names are ours.
    path.join(fidDir, '.mogstored-put-notours'),
    path.join(fidDir, `x.mogstored-put-${dead}-0123456789ab-1.put`),
    path.join(docroot, 'dev2', 'usage.tmp-notours'),
    path.join(docroot, 'dev1', 'test-write', 'test-write-7'),
    // Outside any dev<N>/ and behind a symlink: not the sweep's business.
    path.join(docroot, 'notadev', `.mogstored-put-${dead}-0123456789ab-1.put`),
    path.join(root, 'elsewhere', `.mogstored-put-${dead}-0123456789ab-3.put`),
  ];
  for (const f of [...leftovers, ...kept]) await put(f, `content of ${path.basename(f)}`);
  await fs.symlink(path.join(root, 'elsewhere'), path.join(docroot, 'dev1', 'link'));
  // A usage temp file is a leftover only once it is old (a live one exists for milliseconds).
  const old = new Date(Date.now() - 3600_000);
  await fs.utimes(leftovers[3], old, old);

  await procs.mogstored(docroot, '127.0.0.1');
  await waitFor('the leftover temp files to be gone', async () => {
    for (const f of leftovers) if (await fs.access(f).then(() => true, () => false)) return false;
    return true;
  }, 20_000);
  for (const f of kept) assert.equal(await fs.readFile(f, 'utf8'), `content of ${path.basename(f)}`, f);
});

test('kill -9 mid-upload: the temp file it leaves is gone after a restart, and the node serves again', async () => {
  const root = await procs.tempDir('mogfs-sweep-kill-');
  const docroot = path.join(root, 'docroot');
  const fidDir = path.join(docroot, 'dev1', '0', '000', '000');
  await put(path.join(fidDir, '0000000001.fid'), 'an older file');
  const node = await procs.mogstored(docroot, '127.0.0.1');

  // A large upload that never finishes: 1 MiB of a declared 64 MiB (the streaming path).
  const sock = net.connect(node.httpPort, '127.0.0.1');
  sock.on('error', () => undefined);
  try {
    sock.write(`PUT /dev1/0/000/000/0000000005.fid HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
    sock.write(Buffer.alloc(1024 * 1024, 7));
    await waitFor('the upload\'s temp file to appear', async () => (await listFiles(fidDir)).some(isTempName), 10_000);
    await killHard(node.daemon);
  } finally {
    sock.destroy();
  }
  const left = (await listFiles(fidDir)).filter(isTempName);
  assert.equal(left.length, 1, `kill -9 should leave the temp file behind; found ${JSON.stringify(left)}`);

  const again = await procs.mogstored(docroot, '127.0.0.1', { httpPort: node.httpPort, mgmtPort: node.mgmtPort });
  await waitFor('the temp file to be swept', async () => !(await listFiles(fidDir)).some(isTempName), 20_000);
  assert.deepEqual(await listFiles(fidDir), ['0000000001.fid']);
  assert.equal(await fs.readFile(path.join(fidDir, '0000000001.fid'), 'utf8'), 'an older file');
  const res = await fetch(`http://127.0.0.1:${again.httpPort}/dev1/0/000/000/0000000005.fid`, { method: 'PUT', body: 'whole' });
  assert.equal(res.status, 201);
  assert.equal(await fs.readFile(path.join(fidDir, '0000000005.fid'), 'utf8'), 'whole');
});
