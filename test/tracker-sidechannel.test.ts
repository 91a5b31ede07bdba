/**
 * The tracker's size and MD5 checks (create_close, get_paths' verification,
 * fsck, replication's verify) against a real storage node: over the side
 * channel the node advertises with its usage file, and over HTTP (a 1-byte
 * Range GET on a keep-alive connection, or a read through) when there is
 * none or it can't answer. And the side channel's connection handling
 * against a scripted node.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { fidPathOnDevice } from '../src/common/fidpath';
import { SIDECHANNEL_HEADER } from '../src/common/headers';
import { fileMd5, fileSize, headSize } from '../src/tracker/httpfile';
import { sideChannelDelete, sideChannelMd5, sideChannelSize, sideChannelTarget } from '../src/tracker/sidechannel';
import { startTestStorage, type TestStorage } from './helpers/storage';

/** A port nothing listens on (bound, then closed). */
function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('tracker size checks', () => {
  let ts: TestStorage;
  const uri = fidPathOnDevice(1, 42);
  const missing = fidPathOnDevice(1, 43);
  before(async () => {
    ts = await startTestStorage({ devices: [1] });
    const file = path.join(ts.docroot, uri);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, Buffer.alloc(1234, 7));
    await writeFile(path.join(ts.docroot, 'dev1', 'empty.fid'), '');
  });
  after(async () => ts.cleanup());

  test('the storage node advertises its side channel with the usage file', async () => {
    const res = await request(`${ts.baseUrl}/dev1/usage`);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(Number(res.headers[SIDECHANNEL_HEADER]), ts.node.mgmtPort);
  });

  test('side channel: size of a file, -1 when missing, null when nothing answers', async () => {
    assert.equal(await sideChannelSize('127.0.0.1', ts.node.mgmtPort!, uri, 2000), 1234);
    assert.equal(await sideChannelSize('127.0.0.1', ts.node.mgmtPort!, missing, 2000), -1);
    // Several questions at once share one connection and are answered in order.
    const sizes = await Promise.all([uri, missing, uri, '/dev1/empty.fid'].map((u) => sideChannelSize('127.0.0.1', ts.node.mgmtPort!, u, 2000)));
    assert.deepEqual(sizes, [1234, -1, 1234, 0]);
    assert.equal(await sideChannelSize('127.0.0.1', await deadPort(), uri, 2000), null);
  });

  test('fileSize: same answers over the side channel, over HTTP, and falling back to HTTP', async () => {
    const url = `${ts.baseUrl}${uri}`;
    const sc = ts.node.mgmtPort!;
    assert.deepEqual(await fileSize(url, 2000, sc), { ok: true, size: 1234 });
    assert.deepEqual(await fileSize(url, 2000), { ok: true, size: 1234 });
    assert.deepEqual(await fileSize(url, 2000, await deadPort()), { ok: true, size: 1234 });
    assert.deepEqual(await headSize(`${ts.baseUrl}/dev1/empty.fid`, 2000), { ok: true, size: 0 });
    for (const port of [sc, undefined]) {
      const r = await fileSize(`${ts.baseUrl}${missing}`, 2000, port);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.missing, true, `missing file reported as missing (side channel port ${port})`);
    }
  });

  test('a file removed on disk is seen as missing at once, not from a cache', async () => {
    const uri2 = fidPathOnDevice(1, 44);
    const file = path.join(ts.docroot, uri2);
    await writeFile(file, 'abc');
    assert.deepEqual(await fileSize(`${ts.baseUrl}${uri2}`, 2000, ts.node.mgmtPort!), { ok: true, size: 3 });
    await rm(file);
    const r = await fileSize(`${ts.baseUrl}${uri2}`, 2000, ts.node.mgmtPort!);
    assert.equal(!r.ok && r.missing, true);
  });

  test('MD5: computed by the node over the side channel, read through over HTTP, missing either way', async () => {
    const want = createHash('md5').update(Buffer.alloc(1234, 7)).digest();
    const sc = ts.node.mgmtPort!;
    assert.ok((await sideChannelMd5('127.0.0.1', sc, uri, 2000) as Buffer).equals(want));
    assert.equal(await sideChannelMd5('127.0.0.1', sc, missing, 2000), -1);
    assert.equal(await sideChannelMd5('127.0.0.1', await deadPort(), uri, 2000), null);
    for (const port of [sc, undefined, await deadPort()]) {
      const r = await fileMd5(`${ts.baseUrl}${uri}`, 2000, port);
      assert.ok('digest' in r && r.digest.equals(want), `MD5 with side channel port ${port}`);
      const m = await fileMd5(`${ts.baseUrl}${missing}`, 2000, port);
      assert.ok('missing' in m, `missing file reported as missing (side channel port ${port})`);
    }
  });

  test('side channel delete (our node): true when the file went, false when it was not there, null when nothing answers', async () => {
    const doomed = fidPathOnDevice(1, 44);
    await writeFile(path.join(ts.docroot, doomed), 'x');
    assert.equal(await sideChannelDelete('127.0.0.1', ts.node.mgmtPort!, doomed, 2000), true);
    const res = await request(`${ts.baseUrl}${doomed}`);
    await res.body.dump();
    assert.equal(res.statusCode, 404);
    assert.equal(await sideChannelDelete('127.0.0.1', ts.node.mgmtPort!, doomed, 2000), false);
    // Refused by the node (a directory): null, so the caller's HTTP DELETE says why.
    await mkdir(path.join(ts.docroot, 'dev1', 'dir.fid'), { recursive: true });
    assert.equal(await sideChannelDelete('127.0.0.1', ts.node.mgmtPort!, '/dev1/dir.fid', 2000), null);
    // The error answered that question only: the connection and the size checks go on.
    assert.equal(await sideChannelSize('127.0.0.1', ts.node.mgmtPort!, uri, 2000), 1234);
    assert.equal(await sideChannelDelete('127.0.0.1', await deadPort(), doomed, 2000), null);
  });

  test('sideChannelTarget: the host and device path of a storage URL', () => {
    assert.deepEqual(sideChannelTarget('http://10.0.0.5:7500/dev3/0/000/000/0000000042.fid'), { host: '10.0.0.5', uri: '/dev3/0/000/000/0000000042.fid' });
    assert.deepEqual(sideChannelTarget('http://node/dev1/x.fid'), { host: 'node', uri: '/dev1/x.fid' });
    assert.equal(sideChannelTarget('https://node/dev1/x.fid'), null);
  });
});

/** A node that answers each `<cmd> <uri>` line as `answer` says (null: never), and counts connections. */
async function scriptedNode(answer: (uri: string, n: number) => { delayMs: number; line: string; close?: boolean } | null) {
  let asked = 0;
  let connections = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    connections++;
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    let buf = '';
    let chain = Promise.resolve();
    sock.setEncoding('latin1');
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [, u] = buf.slice(0, nl).trim().split(/\s+/);
        buf = buf.slice(nl + 1);
        const a = answer(u!, asked++);
        // In order, one after another, as a storage node answers them.
        chain = chain.then(async () => {
          if (!a) return new Promise<void>(() => undefined);
          await new Promise((r) => setTimeout(r, a.delayMs));
          sock.write(`${a.line}\r\n`);
          if (a.close) sock.end();
        });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      for (const sock of open) sock.destroy();
    }),
  };
}

describe('tracker side channel connections', () => {
  test('a question waiting behind a slow one is timed from when it is first in line', async () => {
    const node = await scriptedNode((u, n) => ({ delayMs: n === 0 ? 300 : 0, line: `${u} ${n === 0 ? 10 : 20}` }));
    try {
      // The second question's 150 ms would run out while the first is answered (300 ms), if counted from asking.
      const [a, b] = await Promise.all([
        sideChannelSize('127.0.0.1', node.port, '/dev1/a.fid', 2000),
        sideChannelSize('127.0.0.1', node.port, '/dev1/b.fid', 150),
      ]);
      assert.deepEqual([a, b], [10, 20]);
    } finally {
      await node.close();
    }
  });

  test('a question the node does not answer in time fails, and the node is left alone for a while', async () => {
    const node = await scriptedNode(() => null);
    try {
      const t0 = Date.now();
      assert.equal(await sideChannelSize('127.0.0.1', node.port, '/dev1/a.fid', 100), null);
      assert.ok(Date.now() - t0 < 1000);
      assert.equal(await sideChannelSize('127.0.0.1', node.port, '/dev1/a.fid', 100), null);
      assert.equal(node.connections(), 1, 'not asked again at once');
    } finally {
      await node.close();
    }
  });

  test('a node that does not know delete (a stock mogstored passes it to Perlbal: "ERROR: unknown command: delete") is not asked to delete again for a while', async () => {
    let deletes = 0;
    const node = await scriptedNode((u, n) => {
      if (u === '/dev1/gone.fid') deletes++;
      return { delayMs: 0, line: u === '/dev1/gone.fid' ? 'ERROR: unknown command: delete' : `${u} ${n}` };
    });
    try {
      assert.equal(await sideChannelDelete('127.0.0.1', node.port, '/dev1/gone.fid', 2000), null);
      assert.equal(await sideChannelDelete('127.0.0.1', node.port, '/dev1/gone.fid', 2000), null);
      assert.equal(deletes, 1, 'asked to delete again at once');
      // Its size checks still go over the side channel.
      assert.equal(typeof await sideChannelSize('127.0.0.1', node.port, '/dev1/a.fid', 2000), 'number');
    } finally {
      await node.close();
    }
  });

  test('an MD5 the node could not read (`ERR read … failed`) answers only that question; the connection goes on', async () => {
    const hex = 'ab'.repeat(16);
    const node = await scriptedNode((u, n) => ({ delayMs: 0, line: n === 0 ? `ERR read ${u} at 0 failed` : `${u} md5=${hex}` }));
    try {
      assert.equal(await sideChannelMd5('127.0.0.1', node.port, '/dev1/bad.fid', 2000), null);
      assert.deepEqual(await sideChannelMd5('127.0.0.1', node.port, '/dev1/next.fid', 2000), Buffer.from(hex, 'hex'));
      assert.equal(node.connections(), 1, 'the error line closed the connection');
    } finally {
      await node.close();
    }
  });

  test('a connection the node closes while idle is reopened for the next question', async () => {
    const node = await scriptedNode((u) => ({ delayMs: 0, line: `${u} 7`, close: true }));
    try {
      assert.equal(await sideChannelSize('127.0.0.1', node.port, '/dev1/a.fid', 2000), 7);
      await new Promise((r) => setTimeout(r, 100)); // the close arrives
      assert.equal(await sideChannelSize('127.0.0.1', node.port, '/dev1/b.fid', 2000), 7);
      assert.equal(node.connections(), 2);
    } finally {
      await node.close();
    }
  });
});
