// `mogfs up` as a user runs it: a real process tree on free ports, `ready`
// only when files can be stored, replication to 2 hosts, a clean Ctrl-C, and
// a second start on the same data keeping what was stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MogileFS } from '../src/client';
import { canListen, freePort, freePortPair } from './helpers/ports';
import { mountSkipReason } from './helpers/mount';

const mogfs = path.resolve(__dirname, '..', 'src', 'cli', 'mogfs.js');

interface Up { proc: ChildProcess; out: () => string; davPort: number; gatewayPort: number }

async function startUp(data: string, trackerPort: number, storagePort: number, mountDir?: string, env?: NodeJS.ProcessEnv): Promise<Up> {
  const mountArgs = mountDir ? ['--mount-dir', mountDir] : ['--no-mount'];
  const davPort = await freePort();
  const gatewayPort = await freePort();
  const proc = spawn(process.execPath, [mogfs, 'up', '--data', data, '--tracker-port', String(trackerPort),
    '--storage-port', String(storagePort), '--dav-port', String(davPort), '--gateway-port', String(gatewayPort), ...mountArgs],
  { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`no ready line within 60 s: ${out}`)); }, 60_000);
    proc.stdout!.on('data', () => {
      if (/ready/.test(out)) { clearTimeout(timer); resolve({ proc, out: () => out, davPort, gatewayPort }); }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`mogfs up exited ${code} before ready: ${out}`)); });
  });
}

function interrupt(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
    proc.kill('SIGINT');
  });
}

test('mogfs up: ready, stores and replicates, stops cleanly, restarts on the same data', async () => {
  const data = await mkdtemp(path.join(os.tmpdir(), 'mogfs-up-'));
  const trackerPort = await freePort();
  const storagePort = await freePortPair();
  let up: Up | null = await startUp(data, trackerPort, storagePort);
  try {
    assert.match(up.out(), new RegExp(`tracker 127\\.0\\.0\\.1:${trackerPort}`));
    const client = new MogileFS({ trackers: [`127.0.0.1:${trackerPort}`], domain: 'default' });
    const body = Buffer.from('aqua '.repeat(1000));
    await client.storeBuffer('images/aqua.jpg', body);
    assert.deepEqual(await client.getBuffer('images/aqua.jpg'), body);
    // Class `default` has mindevcount 2: a copy on each of the two hosts.
    const deadline = Date.now() + 30_000;
    let paths: string[] = [];
    while (Date.now() < deadline) {
      paths = await client.getPaths('images/aqua.jpg');
      if (paths.length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(paths.length, 2, `expected 2 replicas, got ${paths.join(' ')}`);
    assert.deepEqual(new Set(paths.map((p) => new URL(p).hostname)), new Set(['127.0.0.1', '127.0.0.2']));
    await client.close();

    assert.equal(await interrupt(up.proc), 0);
    up = null;
    // Every child is gone: the ports are free again.
    assert.equal(await canListen('127.0.0.1', trackerPort), true, 'tracker port still taken after Ctrl-C');
    assert.equal(await canListen('127.0.0.2', storagePort), true, 'storage port still taken after Ctrl-C');

    up = await startUp(data, trackerPort, storagePort);
    const again = new MogileFS({ trackers: [`127.0.0.1:${trackerPort}`], domain: 'default' });
    assert.deepEqual(await again.getBuffer('images/aqua.jpg'), body);
    await again.close();
  } finally {
    if (up) await interrupt(up.proc);
    await rm(data, { recursive: true, force: true });
  }
});

test('mogfs up: a taken tracker port is a clear error and a non-zero exit', async () => {
  const data = await mkdtemp(path.join(os.tmpdir(), 'mogfs-up-'));
  const net = await import('node:net');
  const blocker = net.createServer();
  const trackerPort = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as import('node:net').AddressInfo).port)));
  const storagePort = await freePortPair();
  try {
    await assert.rejects(startUp(data, trackerPort, storagePort), /exited 1 before ready/);
    assert.equal(await canListen('127.0.0.1', storagePort), true, 'storage node left running after a failed start');
  } finally {
    blocker.close();
    await rm(data, { recursive: true, force: true });
  }
});

test('mogfs up mounts every domain under the mount dir, says so in its ready line, and unmounts on Ctrl-C', async (t) => {
  const skip = await mountSkipReason();
  if (skip) return t.skip(skip);
  const data = await mkdtemp(path.join(os.tmpdir(), 'mogfs-up-'));
  const mnt = path.join(data, 'mnt');
  const trackerPort = await freePort();
  const storagePort = await freePortPair();
  let up: Up | null = await startUp(data, trackerPort, storagePort, mnt);
  try {
    assert.match(up.out(), new RegExp(`every domain as a folder under ${mnt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(up.out(), new RegExp(`WebDAV http://127\\.0\\.0\\.1:${up.davPort}/`));
    assert.match(up.out(), new RegExp(`gateway http://127\\.0\\.0\\.1:${up.gatewayPort}`));
    assert.deepEqual(await readdir(mnt), ['default']);
    await writeFile(path.join(mnt, 'default', 'hello.txt'), 'through the mount');
    const client = new MogileFS({ trackers: [`127.0.0.1:${trackerPort}`], domain: 'default' });
    assert.equal((await client.getBuffer('hello.txt')).toString(), 'through the mount');
    await client.close();
    // The same file through the other bridges, every domain as a top-level collection / URL prefix.
    assert.equal(await (await fetch(`http://127.0.0.1:${up.davPort}/default/hello.txt`)).text(), 'through the mount');
    assert.equal(await (await fetch(`http://127.0.0.1:${up.gatewayPort}/default/hello.txt`)).text(), 'through the mount');
    assert.equal(await interrupt(up.proc), 0);
    const { davPort, gatewayPort } = up;
    up = null;
    assert.doesNotMatch(await readFile('/proc/mounts', 'utf8'), new RegExp(` ${mnt} `), 'the mount is gone after Ctrl-C');
    assert.equal(await canListen('127.0.0.1', davPort), true, 'WebDAV port still taken after Ctrl-C');
    assert.equal(await canListen('127.0.0.1', gatewayPort), true, 'gateway port still taken after Ctrl-C');
  } finally {
    if (up) await interrupt(up.proc);
    await rm(data, { recursive: true, force: true });
  }
});

test('mogfs up where FUSE is unusable says why in one line and runs everything else', async () => {
  const data = await mkdtemp(path.join(os.tmpdir(), 'mogfs-up-'));
  const trackerPort = await freePort();
  const storagePort = await freePortPair();
  // No fusermount on PATH: one of the reasons a machine cannot mount.
  let up: Up | null = await startUp(data, trackerPort, storagePort, path.join(data, 'mnt'), { ...process.env, PATH: '/nonexistent' });
  try {
    const lines = up.out().split('\n').filter((l) => /FUSE/.test(l));
    assert.deepEqual(lines, ['mogfs: no FUSE mount: fusermount is not on PATH (apt-get install fuse); everything else runs']);
    assert.match(up.out(), /mogfs ready: tracker/);
    assert.doesNotMatch(up.out(), /every domain as a folder/);
    const client = new MogileFS({ trackers: [`127.0.0.1:${trackerPort}`], domain: 'default' });
    await client.storeBuffer('still/works.txt', Buffer.from('yes'));
    assert.equal((await client.getBuffer('still/works.txt')).toString(), 'yes');
    await client.close();
    assert.equal(await interrupt(up.proc), 0);
    up = null;
  } finally {
    if (up) await interrupt(up.proc);
    await rm(data, { recursive: true, force: true });
  }
});
