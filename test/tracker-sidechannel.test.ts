/**
 * The tracker's size checks (create_close, get_paths' verification) against
 * a real storage node: over the side channel the node advertises with its
 * usage file, and over HTTP (a 1-byte Range GET on a keep-alive connection)
 * when there is none or it can't answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { fidPathOnDevice } from '../src/common/fidpath';
import { SIDECHANNEL_HEADER } from '../src/common/headers';
import { fileSize, headSize } from '../src/tracker/httpfile';
import { sideChannelSize } from '../src/tracker/sidechannel';
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
});
