/**
 * MogileFS file calls against a real storage node, with a scripted tracker
 * that hands out paths a real tracker would not (a dead node first, a node
 * that breaks off midway): the failures the fallback code exists for. Also
 * checks create_open / create_close carry exactly what stock clients send.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { startStorageNode } from '../src/storage';
import type { StorageNode } from '../src/storage';
import { fidPathOnDevice } from '../src/common/fidpath';
import { decodeArgs, encodeArgs } from '../src/protocol';
import type { Args } from '../src/protocol';
import { MogileFS, MogError, TrackerClient } from '../src/client';

interface Script {
  /** Reply args (or an ERR line) per command; default OK with no args. */
  on: Record<string, (args: Args) => Record<string, string | number> | string>;
  calls: { cmd: string; args: Args }[];
}

let dir: string;
let node: StorageNode;
let nodeUrl: string;
let deadUrl: string;
let tracker: net.Server;
let trackerAddr: string;
const script: Script = { on: {}, calls: [] };
let nextFid = 100;

function pattern(size: number, seed = 7): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >> 11)) & 0xff;
  return b;
}

function closeArgs(key?: string): Args[] {
  return script.calls.filter((c) => c.cmd === 'create_close' && (key === undefined || c.args.key === key)).map((c) => c.args);
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-client-'));
  await fs.mkdir(path.join(dir, 'dev1'));
  await fs.mkdir(path.join(dir, 'dev2'));
  node = await startStorageNode({ docroot: dir, httpPort: 0, mgmtPort: null });
  nodeUrl = `http://127.0.0.1:${node.httpPort}`;
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
  await new Promise<void>((r) => probe.close(() => r()));

  tracker = net.createServer((sock) => {
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        const sp = line.indexOf(' ');
        const cmd = line.slice(0, sp);
        const args = decodeArgs(line.slice(sp + 1));
        script.calls.push({ cmd, args });
        const h = script.on[cmd];
        const r = h ? h(args) : {};
        sock.write(typeof r === 'string' ? `${r}\r\n` : `OK ${encodeArgs(r)}\r\n`);
      }
    });
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
  trackerAddr = `127.0.0.1:${(tracker.address() as net.AddressInfo).port}`;
});

after(async () => {
  await node.close();
  await new Promise<void>((r) => tracker.close(() => r()));
  await fs.rm(dir, { recursive: true, force: true });
});

/** create_open offering `bases` in order (each with its devid). */
function offer(...dests: { base: string; devid: number }[]): void {
  script.on.create_open = () => {
    const fid = nextFid++;
    const r: Record<string, string | number> = { fid, dev_count: dests.length };
    dests.forEach((d, i) => {
      r[`devid_${i + 1}`] = d.devid;
      r[`path_${i + 1}`] = `${d.base}${fidPathOnDevice(d.devid, fid)}`;
    });
    return r;
  };
}

async function onDisk(devid: number, fid: number): Promise<Buffer> {
  return fs.readFile(path.join(dir, fidPathOnDevice(devid, fid)));
}

describe('MogileFS with a scripted tracker and a real storage node', { timeout: 60_000 }, () => {
  test('storeBuffer sends what stock clients send and writes the bytes', async () => {
    offer({ base: nodeUrl, devid: 1 }, { base: nodeUrl, devid: 2 });
    const mog = new MogileFS({ trackers: [trackerAddr], domain: 'photos' });
    try {
      const data = pattern(100_000);
      const r = await mog.storeBuffer('a/b c.jpg', data, { class: 'thumbs', checksum: true });
      const open = script.calls.filter((c) => c.cmd === 'create_open').at(-1)!.args;
      assert.deepEqual({ ...open }, { domain: 'photos', key: 'a/b c.jpg', class: 'thumbs', fid: '0', multi_dest: '1', size: '100000' });
      const close = closeArgs('a/b c.jpg').at(-1)!;
      const md5 = createHash('md5').update(data).digest('hex');
      assert.deepEqual({ ...close }, {
        fid: String(r.fid), devid: '1', domain: 'photos', key: 'a/b c.jpg',
        path: `${nodeUrl}${fidPathOnDevice(1, r.fid)}`, size: '100000', checksum: `MD5:${md5}`,
      });
      assert.equal(r.size, 100_000);
      assert.equal(r.checksum, `MD5:${md5}`);
      assert.ok((await onDisk(1, r.fid)).equals(data));
    } finally {
      await mog.close();
    }
  });

  test('a dead first destination falls back to the next, for buffers, files and one-shot streams', async () => {
    offer({ base: deadUrl, devid: 1 }, { base: nodeUrl, devid: 2 });
    const mog = new MogileFS({ trackers: [trackerAddr], domain: 'd' });
    try {
      const data = pattern(300_000, 3);
      const r1 = await mog.storeBuffer('fb1', data);
      assert.equal(r1.devid, 2);
      assert.equal(closeArgs('fb1').at(-1)!.devid, '2');
      assert.ok((await onDisk(2, r1.fid)).equals(data));

      const file = path.join(dir, 'src.bin');
      await fs.writeFile(file, data);
      const r2 = await mog.storeFile('fb2', file);
      assert.equal(r2.devid, 2);
      assert.ok((await onDisk(2, r2.fid)).equals(data));

      // The stream was not read by the failed attempt, so the fallback still has every byte.
      const r3 = await mog.storeStream('fb3', Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
      assert.equal(r3.devid, 2);
      assert.equal(r3.size, data.length);
      assert.equal(closeArgs('fb3').at(-1)!.size, String(data.length));
      assert.ok((await onDisk(2, r3.fid)).equals(data));
    } finally {
      await mog.close();
    }
  });

  test('a failed upload is thrown, never closed under the key; the tempfile is given back', async () => {
    offer({ base: deadUrl, devid: 1 });
    const mog = new MogileFS({ trackers: [trackerAddr], domain: 'd' });
    try {
      await assert.rejects(mog.storeBuffer('lost', pattern(10)), (e: unknown) =>
        e instanceof MogError && e.code === 'upload_failed' && e.message.includes(deadUrl));
      assert.equal(closeArgs('lost').length, 0);
      assert.equal(closeArgs('').length > 0, true, 'create_close without a key releases the tempfile');

      // A source stream that breaks midway: the storage node must not keep it and we must not close it.
      offer({ base: nodeUrl, devid: 1 });
      const broken = new Readable({ read() {} });
      broken.push(pattern(50_000));
      setImmediate(() => broken.destroy(new Error('disk read error')));
      await assert.rejects(mog.storeStream('broken', broken, { size: 200_000 }), (e: unknown) =>
        e instanceof MogError && e.code === 'upload_failed');
      assert.equal(closeArgs('broken').length, 0);

      // And one that breaks after part of it has gone out: no fallback can have its bytes.
      offer({ base: nodeUrl, devid: 1 }, { base: nodeUrl, devid: 2 });
      let sent = 0;
      const midway = new Readable({
        read() {
          if (sent >= 300_000) return void this.destroy(new Error('source broke midway'));
          sent += 65_536;
          this.push(pattern(65_536, sent));
        },
      });
      const opensBefore = script.calls.filter((x) => x.cmd === 'create_open').length;
      await assert.rejects(mog.storeStream('midway', midway, { size: 1_000_000 }), (e: unknown) =>
        e instanceof MogError && e.code === 'upload_failed' && e.message.includes('source broke midway'));
      assert.equal(closeArgs('midway').length, 0);
      assert.equal(script.calls.filter((x) => x.cmd === 'create_open').length, opensBefore + 1);
      const fid = nextFid - 1;
      for (const devid of [1, 2]) {
        await assert.rejects(fs.stat(path.join(dir, fidPathOnDevice(devid, fid))), 'no partial file may be visible');
      }

      // A tracker refusing create_close surfaces its code.
      offer({ base: nodeUrl, devid: 1 });
      script.on.create_close = () => 'ERR size_mismatch Expected:+5;+actual:+4';
      await assert.rejects(mog.storeBuffer('mismatch', pattern(5)), (e: unknown) =>
        e instanceof MogError && e.code === 'size_mismatch' && e.message === 'Expected: 5; actual: 4');
    } finally {
      delete script.on.create_close;
      await mog.close();
    }
  });

  test('a create_close cut off by its tracker is sent to the next; no_temp_file counts only if the key has our fid', async () => {
    // Tracker A hands out the upload, then dies during create_close (the socket closes with no reply).
    const dropper = net.createServer((sock) => {
      let buf = '';
      sock.on('error', () => {});
      sock.on('data', (d) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).replace(/\r$/, '');
          buf = buf.slice(i + 1);
          const cmd = line.slice(0, line.indexOf(' '));
          if (cmd === 'create_close') {
            sock.destroy();
            return;
          }
          const r = script.on[cmd]?.(decodeArgs(line.slice(line.indexOf(' ') + 1))) ?? {};
          sock.write(typeof r === 'string' ? `${r}\r\n` : `OK ${encodeArgs(r)}\r\n`);
        }
      });
    });
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
    const aAddr = `127.0.0.1:${(dropper.address() as net.AddressInfo).port}`;
    offer({ base: nodeUrl, devid: 1 });
    const closesOnB = (): Args[] => closeArgs();
    try {
      // B (the scripted tracker) finishes the store itself.
      delete script.on.create_close;
      let tc = new TrackerClient({ trackers: [aAddr, trackerAddr], ordered: true });
      let mog = new MogileFS({ tracker: tc, domain: 'd' });
      const before = closesOnB().length;
      const r1 = await mog.storeBuffer('cut/1', pattern(5000));
      assert.equal(closesOnB().length, before + 1, 'create_close was not sent again to tracker B');
      assert.equal(closesOnB().at(-1)!.fid, String(r1.fid));
      tc.close();

      // A committed before dying: B finds no tempfile row, and the key has our fid.
      let storedFid = -1;
      script.on.create_close = () => 'ERR no_temp_file No+tempfile+or+file+exists';
      script.on.file_info = () => ({ fid: storedFid, domain: 'd', key: 'cut/2', length: 5000, class: 'default', devcount: 1 });
      offer({ base: nodeUrl, devid: 1 });
      const wrapOpen = script.on.create_open;
      script.on.create_open = (a) => {
        const r = wrapOpen(a) as Record<string, number>;
        storedFid = r.fid;
        return r;
      };
      tc = new TrackerClient({ trackers: [aAddr, trackerAddr], ordered: true });
      mog = new MogileFS({ tracker: tc, domain: 'd' });
      const r2 = await mog.storeBuffer('cut/2', pattern(5000));
      assert.equal(r2.fid, storedFid);
      tc.close();

      // The key points at another fid: the store did not happen, and the caller must hear so.
      script.on.file_info = () => ({ fid: storedFid + 1000, domain: 'd', key: 'cut/3', length: 5000, class: 'default', devcount: 1 });
      tc = new TrackerClient({ trackers: [aAddr, trackerAddr], ordered: true });
      mog = new MogileFS({ tracker: tc, domain: 'd' });
      await assert.rejects(mog.storeBuffer('cut/3', pattern(5000)), (e: unknown) => e instanceof MogError && e.code === 'no_temp_file');
      tc.close();

      // Only tracker A, and it dies: the caller hears the cut-off, which may or may not have stored the file.
      tc = new TrackerClient({ trackers: [aAddr], ordered: true });
      mog = new MogileFS({ tracker: tc, domain: 'd' });
      await assert.rejects(mog.storeBuffer('cut/4', pattern(5000)), (e: unknown) => e instanceof MogError && e.code === 'tracker_io');
      tc.close();
    } finally {
      delete script.on.create_close;
      delete script.on.file_info;
      await new Promise<void>((r) => dropper.close(() => r()));
    }
  });

  test('unknown size streams go chunked and the counted size is sent to create_close', async () => {
    offer({ base: nodeUrl, devid: 2 });
    const mog = new MogileFS({ trackers: [trackerAddr], domain: 'd' });
    try {
      const parts = Array.from({ length: 40 }, (_, i) => pattern(131_072, i));
      const r = await mog.storeStream('chunked', Readable.from(parts));
      const all = Buffer.concat(parts);
      assert.equal(r.size, all.length);
      assert.equal(script.calls.filter((c) => c.cmd === 'create_open').at(-1)!.args.size, undefined);
      assert.equal(closeArgs('chunked').at(-1)!.size, String(all.length));
      assert.ok((await onDisk(2, r.fid)).equals(all));
    } finally {
      await mog.close();
    }
  });

  test('reads fail over across paths, before the first byte and midway (resuming with Range)', async () => {
    offer({ base: nodeUrl, devid: 1 });
    const mog = new MogileFS({ trackers: [trackerAddr], domain: 'd' });
    // A node that promises the whole file, sends 1000 bytes, then drops the connection.
    let brokenHits = 0;
    const breaker = http.createServer((req, res) => {
      brokenHits++;
      res.writeHead(200, { 'content-length': String(600_000) });
      // Cut off only once the client has surely taken the response's start: a
      // reset that beats it (a loaded machine) makes undici retry the request
      // itself, and the broken node is asked twice.
      res.write(pattern(600_000, 9).subarray(0, 1000), () => setTimeout(() => res.destroy(), 50));
    });
    await new Promise<void>((r) => breaker.listen(0, '127.0.0.1', r));
    const breakerUrl = `http://127.0.0.1:${(breaker.address() as net.AddressInfo).port}`;
    try {
      const data = pattern(600_000, 9);
      const { fid } = await mog.storeBuffer('readme', data);
      const good = `${nodeUrl}${fidPathOnDevice(1, fid)}`;

      script.on.get_paths = () => ({ paths: 2, path1: `${deadUrl}${fidPathOnDevice(1, fid)}`, path2: good });
      assert.ok((await mog.getBuffer('readme')).equals(data));

      script.on.get_paths = () => ({ paths: 2, path1: `${breakerUrl}/dev1/x.fid`, path2: good });
      assert.ok((await mog.getBuffer('readme')).equals(data));
      assert.equal(brokenHits, 1);

      const part = await mog.getBuffer('readme', { range: { start: 1000, end: 1999 } });
      assert.ok(part.equals(data.subarray(1000, 2000)));
      const tail = await mog.getBuffer('readme', { range: { start: 599_990 } });
      assert.ok(tail.equals(data.subarray(599_990)));
      assert.equal((await mog.getBuffer('readme', { range: { start: 600_000 } })).length, 0);
      await assert.rejects(mog.get('readme', { range: { start: 10, end: 5 } }), (e: unknown) =>
        e instanceof MogError && e.code === 'invalid_range');

      script.on.get_paths = () => ({ paths: 1, path1: `${deadUrl}/dev1/x.fid` });
      await assert.rejects(mog.get('readme'), (e: unknown) => e instanceof MogError && e.code === 'read_failed');
      script.on.get_paths = () => ({ paths: 0 });
      await assert.rejects(mog.get('readme'), (e: unknown) => e instanceof MogError && e.code === 'no_paths');
    } finally {
      delete script.on.get_paths;
      await new Promise<void>((r) => breaker.close(() => r()));
      await mog.close();
    }
  });
});
