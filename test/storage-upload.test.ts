// Uploads that go wrong: cut short, aborted, or hitting a full disk, never
// leave a visible file or a temp file behind.
import { test, describe, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdir, readFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { startTestStorage, rawHttp, type TestStorage } from './helpers/storage';
import { fidPathOnDevice } from '../src/common/fidpath';

const run = promisify(execFile);

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Poll until `check` passes or the deadline expires (then its last error is thrown). */
async function eventually(check: () => Promise<void>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

describe('storage node failed uploads', () => {
  let ts: TestStorage;
  before(async () => {
    ts = await startTestStorage({ devices: [1], usageIntervalMs: 3_600_000 });
  });
  after(async () => ts.cleanup());

  test('client closes the socket before sending Content-Length bytes: no file, no temp', async () => {
    const p = fidPathOnDevice(1, 100);
    const sock = net.connect(ts.node.httpPort, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', resolve));
    sock.write(`PUT ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n`);
    sock.write(Buffer.alloc(40_000, 1));
    // Let the server create its temp file and take the first bytes.
    await eventually(async () => {
      const files = await listTree(path.join(ts.docroot, 'dev1'));
      assert.ok(files.some((f) => f.includes('.mogstored-put-')), `temp file appears (${files.join(',')})`);
    });
    sock.destroy();
    await eventually(async () => {
      assert.deepEqual(await listTree(path.join(ts.docroot, 'dev1')), ['usage']);
    });
    const get = await rawHttp(ts.node.httpPort, `GET ${p} HTTP/1.1`);
    assert.equal(get.status, 404);
  });

  test('short body then EOF from the client: never a 2xx, nothing visible', async () => {
    const p = fidPathOnDevice(1, 101);
    const sock = net.connect(ts.node.httpPort, '127.0.0.1');
    const reply: Buffer[] = [];
    sock.on('data', (c: Buffer) => reply.push(c));
    sock.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    sock.end(`PUT ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nonly twenty bytes...`);
    await closed;
    const text = Buffer.concat(reply).toString('latin1');
    assert.doesNotMatch(text, /^HTTP\/1\.\d 2/, 'a cut-short upload must not be acknowledged');
    await eventually(async () => {
      assert.deepEqual(await listTree(path.join(ts.docroot, 'dev1')), ['usage']);
    });
    assert.equal((await rawHttp(ts.node.httpPort, `GET ${p} HTTP/1.1`)).status, 404);
  });

  test('a bad Content-Length is refused before anything is written', async () => {
    const r = await rawHttp(ts.node.httpPort, `PUT ${fidPathOnDevice(1, 102)} HTTP/1.1\r\nContent-Length: -5`, '');
    assert.equal(r.status, 400);
    assert.deepEqual(await listTree(path.join(ts.docroot, 'dev1')), ['usage']);
  });

  /**
   * Runs `body` with dev<devid> a tmpfs of `size` (a real disk to fill);
   * skipped without root (CI runs as root).
   */
  async function onSmallDevice(t: TestContext, devid: number, size: string, body: (dev: string) => Promise<void>): Promise<void> {
    const dev = path.join(ts.docroot, `dev${devid}`);
    await mkdir(dev);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dev]);
    } catch (e) {
      await rm(dev, { recursive: true, force: true });
      t.skip(`cannot mount a small tmpfs here: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    try {
      await body(dev);
    } finally {
      await run('umount', [dev]).catch(() => undefined);
      await rm(dev, { recursive: true, force: true });
    }
  }

  test('disk full answers 507 and removes the temp file', (t) => onSmallDevice(t, 5, '256k', async (dev) => {
    const body = Buffer.alloc(1024 * 1024, 7);
    const r = await rawHttp(ts.node.httpPort, `PUT ${fidPathOnDevice(5, 1)} HTTP/1.1\r\nContent-Length: ${body.length}`, body);
    assert.equal(r.status, 507);
    await eventually(async () => assert.deepEqual(await listTree(dev), []));
    // Afterwards the device still takes a file that fits.
    const ok = await rawHttp(ts.node.httpPort, `PUT ${fidPathOnDevice(5, 2)} HTTP/1.1\r\nContent-Length: 3`, 'fit');
    assert.equal(ok.status, 201);
    assert.equal((await stat(path.join(dev, '0', '000', '000', '0000000002.fid'))).size, 3);
  }));

  test('disk full on a small upload (created in place) answers 507 and leaves no short file', (t) => onSmallDevice(t, 6, '48k', async (dev) => {
    // Under the 64 KiB a body is gathered for, over what the device holds.
    const body = Buffer.alloc(60 * 1024, 9);
    const r = await rawHttp(ts.node.httpPort, `PUT ${fidPathOnDevice(6, 1)} HTTP/1.1\r\nContent-Length: ${body.length}`, body);
    assert.equal(r.status, 507);
    const fidDir = path.join(dev, '0', '000', '000');
    assert.deepEqual(await readdir(fidDir), [], 'the short file the write left was removed');
    const ok = await rawHttp(ts.node.httpPort, `PUT ${fidPathOnDevice(6, 2)} HTTP/1.1\r\nContent-Length: 3`, 'fit');
    assert.equal(ok.status, 201);
    assert.deepEqual(await readdir(fidDir), ['0000000002.fid']);
    // Replacing it goes through a temp file, which is gone afterwards.
    const again = await rawHttp(ts.node.httpPort, `PUT ${fidPathOnDevice(6, 2)} HTTP/1.1\r\nContent-Length: 4`, 'more');
    assert.equal(again.status, 204);
    assert.deepEqual(await readdir(fidDir), ['0000000002.fid']);
    assert.equal(await readFile(path.join(fidDir, '0000000002.fid'), 'utf8'), 'more');
  }));
});

describe('storage node uploads with fsync and Expect: 100-continue', () => {
  let ts: TestStorage;
  before(async () => {
    ts = await startTestStorage({ devices: [1], fsync: true, usageIntervalMs: 3_600_000 });
  });
  after(async () => ts.cleanup());

  test('the body follows a 100 Continue and lands whole', async () => {
    const body = Buffer.alloc(300_000, 9);
    const p = fidPathOnDevice(1, 200);
    const sock = net.connect(ts.node.httpPort, '127.0.0.1');
    sock.setEncoding('latin1');
    let got = '';
    sock.on('data', (c: string) => (got += c));
    sock.write(`PUT ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    await eventually(async () => assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\n/));
    sock.write(body);
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    assert.match(got, /HTTP\/1\.1 201 Created/);
    assert.equal((await stat(path.join(ts.docroot, 'dev1', '0', '000', '000', '0000000200.fid'))).size, body.length);
  });
});
