// Storage node HTTP: GET/HEAD with Range, PUT roundtrips, DELETE, MKCOL.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { startTestStorage, rawHttp, type TestStorage } from './helpers/storage';
import { fidPathOnDevice } from '../src/common/fidpath';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request through node:http with keep-alive (the way trackers and clients talk). */
const agent = new http.Agent({ keepAlive: true });
function request(ts: TestStorage, method: string, urlPath: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: ts.node.host, port: ts.node.httpPort, method, path: urlPath, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('storage node HTTP', () => {
  let ts: TestStorage;
  const content = Buffer.from('0123456789abcdefghij'); // 20 bytes
  const fidPath = fidPathOnDevice(1, 1);

  before(async () => {
    ts = await startTestStorage({ devices: [1, 2] });
    const put = await request(ts, 'PUT', fidPath, content, { 'Content-Length': String(content.length) });
    assert.equal(put.status, 201);
  });
  after(async () => {
    agent.destroy();
    await ts.cleanup();
  });

  test('PUT lands in the original layout and GET returns it', async () => {
    const onDisk = await readFile(path.join(ts.docroot, 'dev1', '0', '000', '000', '0000000001.fid'));
    assert.deepEqual(onDisk, content);
    const get = await request(ts, 'GET', fidPath);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, content);
    assert.equal(get.headers['content-length'], '20');
    assert.equal(get.headers['accept-ranges'], 'bytes');
    assert.ok(get.headers['last-modified'], 'Last-Modified is sent');
  });

  test('HEAD gives the size without a body', async () => {
    const head = await request(ts, 'HEAD', fidPath);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '20');
    assert.equal(head.body.length, 0);
    const missing = await request(ts, 'HEAD', fidPathOnDevice(1, 999));
    assert.equal(missing.status, 404);
  });

  test('HEAD answers with the same headers as GET, Range included, and refuses directories', async () => {
    for (const range of [undefined, 'bytes=2-5', 'bytes=40-']) {
      const h: Record<string, string> = range ? { Range: range } : {};
      const get = await request(ts, 'GET', fidPath, undefined, h);
      const head = await request(ts, 'HEAD', fidPath, undefined, h);
      assert.equal(head.status, get.status, `status for ${range}`);
      for (const name of ['content-length', 'content-range', 'last-modified', 'etag', 'accept-ranges', 'content-type']) {
        assert.equal(head.headers[name], get.headers[name], `${name} for ${range}`);
      }
      assert.equal(head.body.length, 0);
    }
    assert.equal((await request(ts, 'HEAD', '/dev1/0')).status, 403);
  });

  test('Range: closed, open-ended, suffix, clamped', async () => {
    const cases: [string, number, string, string][] = [
      ['bytes=2-5', 206, '2345', 'bytes 2-5/20'],
      ['bytes=15-', 206, 'fghij', 'bytes 15-19/20'],
      ['bytes=-3', 206, 'hij', 'bytes 17-19/20'],
      ['bytes=18-100', 206, 'ij', 'bytes 18-19/20'],
      ['bytes=-100', 206, content.toString(), 'bytes 0-19/20'],
      ['bytes=0-0', 206, '0', 'bytes 0-0/20'],
    ];
    for (const [range, status, body, cr] of cases) {
      const r = await request(ts, 'GET', fidPath, undefined, { Range: range });
      assert.equal(r.status, status, range);
      assert.equal(r.body.toString(), body, range);
      assert.equal(r.headers['content-range'], cr, range);
      assert.equal(r.headers['content-length'], String(body.length), range);
    }
  });

  test('Range: unsatisfiable is 416, unparsable or multiple is the whole file', async () => {
    for (const range of ['bytes=20-', 'bytes=100-200', 'bytes=-0']) {
      const r = await request(ts, 'GET', fidPath, undefined, { Range: range });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers['content-range'], 'bytes */20', range);
    }
    for (const range of ['bytes=5-2', 'items=0-3', 'bytes=abc', 'bytes=0-1,4-5']) {
      const r = await request(ts, 'GET', fidPath, undefined, { Range: range });
      assert.equal(r.status, 200, range);
      assert.deepEqual(r.body, content, range);
    }
  });

  test('multi-MiB PUT + GET roundtrip is byte-exact, also chunked without length', async () => {
    const big = randomBytes(5 * 1024 * 1024 + 123);
    const p = fidPathOnDevice(2, 1234567);
    const put = await request(ts, 'PUT', p, big, { 'Content-Length': String(big.length) });
    assert.equal(put.status, 201);
    const get = await request(ts, 'GET', p);
    assert.equal(get.status, 200);
    assert.equal(createHash('md5').update(get.body).digest('hex'), createHash('md5').update(big).digest('hex'));

    // Chunked: node:http sends Transfer-Encoding: chunked when no length is set.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: ts.node.host, port: ts.node.httpPort, method: 'PUT', path: fidPathOnDevice(2, 77), agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write(big.subarray(i * 1000, (i + 1) * 1000));
      req.end();
    });
    assert.equal(chunked, 201);
    const back = await request(ts, 'GET', fidPathOnDevice(2, 77));
    assert.deepEqual(back.body, big.subarray(0, 8000));
  });

  test('PUT over an existing file replaces it (204) and leaves no temp files', async () => {
    const p = fidPathOnDevice(1, 42);
    assert.equal((await request(ts, 'PUT', p, Buffer.from('old'))).status, 201);
    assert.equal((await request(ts, 'PUT', p, Buffer.from('new content'))).status, 204);
    assert.equal((await request(ts, 'GET', p)).body.toString(), 'new content');
    const names = await readdir(path.join(ts.docroot, 'dev1', '0', '000', '000'));
    assert.deepEqual(names.filter((n) => !n.endsWith('.fid')), []);
  });

  test('zero-byte PUT stores an empty file', async () => {
    const p = fidPathOnDevice(1, 43);
    assert.equal((await request(ts, 'PUT', p, Buffer.alloc(0), { 'Content-Length': '0' })).status, 201);
    const get = await request(ts, 'GET', p);
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-length'], '0');
  });

  test('PUT to a directory path is refused', async () => {
    await mkdir(path.join(ts.docroot, 'dev1', 'adir'), { recursive: true });
    const r = await request(ts, 'PUT', '/dev1/adir', Buffer.from('x'));
    assert.equal(r.status, 409);
    assert.ok((await stat(path.join(ts.docroot, 'dev1', 'adir'))).isDirectory());
  });

  test('DELETE answers 204 then 404, as the tracker expects', async () => {
    const p = fidPathOnDevice(1, 50);
    await request(ts, 'PUT', p, Buffer.from('doomed'));
    assert.equal((await request(ts, 'DELETE', p)).status, 204);
    assert.equal((await request(ts, 'GET', p)).status, 404);
    assert.equal((await request(ts, 'DELETE', p)).status, 404);
    assert.equal((await request(ts, 'DELETE', '/dev1')).status, 400);
    assert.ok((await stat(path.join(ts.docroot, 'dev1'))).isDirectory(), 'device dir survives');
  });

  test('MKCOL creates directories; an existing one is fine; a file is a conflict', async () => {
    const r1 = await request(ts, 'MKCOL', '/dev2/test-write');
    assert.equal(r1.status, 201);
    assert.ok((await stat(path.join(ts.docroot, 'dev2', 'test-write'))).isDirectory());
    const r2 = await request(ts, 'MKCOL', '/dev2/test-write');
    assert.equal(r2.status, 200);
    const deep = await request(ts, 'MKCOL', '/dev2/0/001/002/');
    assert.equal(deep.status, 201);
    assert.ok((await stat(path.join(ts.docroot, 'dev2', '0', '001', '002'))).isDirectory());
    await writeFile(path.join(ts.docroot, 'dev2', 'plainfile'), 'x');
    assert.equal((await request(ts, 'MKCOL', '/dev2/plainfile')).status, 409);
    // The monitor's test write: MKCOL, PUT, GET back.
    const tw = '/dev2/test-write/test-write-7';
    assert.equal((await request(ts, 'PUT', tw, Buffer.from('time=1 rand=7'))).status, 201);
    assert.equal((await request(ts, 'GET', tw)).body.toString(), 'time=1 rand=7');
  });

  test('unknown device, missing file, directories and odd methods', async () => {
    assert.equal((await request(ts, 'GET', fidPathOnDevice(9, 1))).status, 404);
    assert.equal((await request(ts, 'PUT', fidPathOnDevice(9, 1), Buffer.from('x'))).status, 404);
    assert.equal((await request(ts, 'MKCOL', '/dev9/x')).status, 404);
    assert.equal((await request(ts, 'GET', '/nosuch')).status, 404);
    assert.equal((await request(ts, 'GET', '/dev1/0')).status, 403);
    const post = await request(ts, 'POST', fidPath, Buffer.from('x'));
    assert.equal(post.status, 405);
    assert.match(String(post.headers.allow), /MKCOL/);
  });

  test('mogadm check (MogileFS-Utils) as LWP::Simple sends it: GET / answers 200, then //dev<N>/usage', async () => {
    // cmd_check: get("http://ip:port/") must succeed for the host to count as up
    // (Perlbal answers a directory with 200 "Directory listing disabled"), then
    // get($url . "/dev$devid/usage"): the doubled slash goes out as written.
    const lwp = 'TE: deflate,gzip;q=0.3\r\nUser-Agent: LWP::Simple/6.67';
    const root = await rawHttp(ts.node.httpPort, `GET / HTTP/1.1\r\n${lwp}`);
    assert.equal(root.status, 200);
    assert.match(root.body.toString(), /Directory listing disabled/);
    assert.equal((await rawHttp(ts.node.httpPort, 'HEAD / HTTP/1.1', '', '127.0.0.1', true)).status, 200);
    const usage = await rawHttp(ts.node.httpPort, `GET //dev1/usage HTTP/1.1\r\n${lwp}`);
    assert.equal(usage.status, 200);
    assert.match(usage.body.toString(), /^available: \d+\ndevice: /);
    // Only GET and HEAD of the root; writes there are still refused.
    const putRoot = await rawHttp(ts.node.httpPort, 'PUT / HTTP/1.1\r\nContent-Length: 1', 'x');
    assert.ok(putRoot.status >= 400 && putRoot.status < 500, `PUT / answered ${putRoot.status}`);
    assert.equal((await rawHttp(ts.node.httpPort, 'DELETE //dev1/usage HTTP/1.1')).status, 403);
  });

  test('HTTP/1.0 requests as the original tracker sends them', async () => {
    const p = fidPathOnDevice(1, 60);
    await request(ts, 'PUT', p, Buffer.from('abc'));
    const del = await rawHttp(ts.node.httpPort, `DELETE ${p} HTTP/1.0`);
    assert.equal(del.status, 204);
    const mk = await rawHttp(ts.node.httpPort, 'MKCOL /dev1/x1 HTTP/1.0\r\nContent-Length: 0');
    assert.equal(mk.status, 201);
    const put = await rawHttp(ts.node.httpPort, `PUT ${p} HTTP/1.0\r\nContent-length: 5`, 'hello');
    assert.equal(put.status, 201);
    assert.equal((await request(ts, 'GET', p)).body.toString(), 'hello');
  });
});
