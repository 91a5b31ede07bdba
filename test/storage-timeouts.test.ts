// Slow or stalled HTTP clients: headers that never end, an upload body that
// stops arriving, an idle keep-alive connection. Each is cut off after its
// (here short) timeout, and a stalled upload's temp file goes with it; a slow
// upload that keeps moving is not.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { startTestStorage, type TestStorage } from './helpers/storage';
import { waitFor } from './helpers/multitracker';
import { isTempName } from '../src/storage';
import { fidPathOnDevice } from '../src/common/fidpath';

interface RawConn {
  sock: net.Socket;
  received(): string;
  closed(): boolean;
}

async function connect(port: number): Promise<RawConn> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  let text = '';
  let isClosed = false;
  sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
  sock.on('error', () => undefined);
  sock.on('close', () => (isClosed = true));
  return { sock, received: () => text, closed: () => isClosed };
}

async function tempsIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter(isTempName);
}

describe('storage node timeouts for slow or stalled clients', () => {
  let ts: TestStorage;
  before(async () => {
    ts = await startTestStorage({ devices: [1], usageIntervalMs: 3_600_000, timeouts: { headersMs: 300, idleMs: 300, keepAliveMs: 300 } });
  });
  after(async () => ts.cleanup());

  test('an upload whose body stops arriving is cut off and its temp file removed', async () => {
    const uri = fidPathOnDevice(1, 77);
    const dir = path.dirname(path.join(ts.docroot, uri));
    const c = await connect(ts.node.httpPort);
    c.sock.write(`PUT ${uri} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
    c.sock.write(Buffer.alloc(256 * 1024, 7));
    // The body streams into a temp file beside the target while it arrives...
    await waitFor('the upload temp file', async () => (await tempsIn(dir)).length === 1 || c.closed(), 10_000);
    // ...and once no byte has come for the idle timeout, the node hangs up and removes it.
    await waitFor('the stalled upload to be cut off', async () => c.closed() && (await tempsIn(dir)).length === 0, 10_000);
    await assert.rejects(stat(path.join(ts.docroot, uri)), { code: 'ENOENT' });
  });

  test('a small upload that stalls is cut off too', async () => {
    const uri = fidPathOnDevice(1, 78);
    const c = await connect(ts.node.httpPort);
    c.sock.write(`PUT ${uri} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc`);
    await waitFor('the stalled upload to be cut off', async () => c.closed(), 10_000);
    await assert.rejects(stat(path.join(ts.docroot, uri)), { code: 'ENOENT' });
    assert.deepEqual(await tempsIn(path.dirname(path.join(ts.docroot, uri))), []);
  });

  test('request headers that never end are cut off', async () => {
    const c = await connect(ts.node.httpPort);
    c.sock.write('GET /dev1/usage HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await waitFor('the connection to be closed', async () => c.closed(), 10_000);
    assert.doesNotMatch(c.received(), /^HTTP\/1\.1 200/);
  });

  test('an idle keep-alive connection is closed', async () => {
    const c = await connect(ts.node.httpPort);
    c.sock.write('GET /dev1/usage HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitFor('the answer', async () => /^HTTP\/1\.1 200/.test(c.received()) || c.closed(), 10_000);
    assert.match(c.received(), /^HTTP\/1\.1 200/);
    await waitFor('the idle connection to be closed', async () => c.closed(), 10_000);
  });
});

describe('storage node timeouts spare slow uploads that keep moving', () => {
  let ts: TestStorage;
  before(async () => {
    ts = await startTestStorage({ devices: [1], usageIntervalMs: 3_600_000, timeouts: { idleMs: 2000 } });
  });
  after(async () => ts.cleanup());

  test('an upload taking longer than the idle timeout, with no long gap, completes', async () => {
    const uri = fidPathOnDevice(1, 79);
    const chunks = 60;
    const chunk = Buffer.alloc(64 * 1024, 3);
    const c = await connect(ts.node.httpPort);
    c.sock.write(`PUT ${uri} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${chunks * chunk.length}\r\n\r\n`);
    // 60 chunks 50 ms apart: three seconds in all, never a gap near the 2 s timeout.
    for (let i = 0; i < chunks && !c.closed(); i++) {
      c.sock.write(chunk);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor('the answer', async () => /\r\n\r\n/.test(c.received()) || c.closed(), 10_000);
    assert.match(c.received(), /^HTTP\/1\.1 201/);
    assert.equal((await stat(path.join(ts.docroot, uri))).size, chunks * chunk.length);
    c.sock.destroy();
  });
});
