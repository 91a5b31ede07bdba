// Every spelling of "outside the device directory" is refused, and nothing
// outside is read, written, created or deleted.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, readdir, readFile, symlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestStorage, rawHttp, connectSideChannel, type TestStorage } from './helpers/storage';

const SECRET = 'secret outside the device\n';

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

describe('storage node path confinement', () => {
  let base: string;
  let ts: TestStorage;
  let outside: string;
  let before1: string[];
  let beforeOutside: string[];

  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'mogfs-trav-'));
    const docroot = path.join(base, 'docroot');
    outside = path.join(base, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'secret.fid'), SECRET);
    await mkdir(docroot, { recursive: true });
    await writeFile(path.join(docroot, 'docroot-secret'), SECRET);
    // Usage rewrites would only add noise to the before/after snapshots.
    ts = await startTestStorage({ docroot, devices: [1, 2], usageIntervalMs: 3_600_000 });
    // Symlinks inside dev1 that lead out: a directory and a file.
    await symlink(outside, path.join(docroot, 'dev1', 'escape'));
    await symlink(path.join(outside, 'secret.fid'), path.join(docroot, 'dev1', 'secret-link.fid'));
    // dev2's own files, to check nothing crosses between devices either.
    await writeFile(path.join(docroot, 'dev2', 'other.fid'), SECRET);
    before1 = await snapshot(path.join(docroot, 'dev1'));
    beforeOutside = await snapshot(base);
  });
  after(async () => {
    await ts.cleanup();
    await rm(base, { recursive: true, force: true });
  });

  const attempts = [
    '/dev1/../docroot-secret',
    '/dev1/../../outside/secret.fid',
    '/dev1/%2e%2e/docroot-secret',
    '/dev1/%2E%2E/%2e%2e/outside/secret.fid',
    '/dev1/.%2e/docroot-secret',
    '/dev1/..%2fdocroot-secret',
    '/dev1%2f..%2fdocroot-secret',
    '/dev1/%252e%252e/docroot-secret',
    '/dev1/%25%32%65%25%32%65/docroot-secret',
    '/dev1/..%5cdocroot-secret',
    '/dev1/x%00.fid',
    '/dev1//etc/passwd',
    '//etc/passwd',
    '/docroot-secret',
    '/dev2/../dev1/usage',
    '/dev1/./usage',
    'http://127.0.0.1/../outside/secret.fid',
    '/dev1/escape/secret.fid',
    '/dev1/secret-link.fid',
    '/dev1/escape/newdir/new.fid',
  ];

  for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL']) {
    test(`${method} refuses traversal in every spelling`, async () => {
      for (const target of attempts) {
        const body = method === 'PUT' ? 'pwned' : '';
        const head = `${method} ${target} HTTP/1.1` + (method === 'PUT' ? '\r\nContent-Length: 5' : '');
        const r = await rawHttp(ts.node.httpPort, head, body, '127.0.0.1', method === 'HEAD');
        assert.ok(r.status >= 400 && r.status < 500, `${method} ${target} answered ${r.status}`);
        assert.ok(!r.body.toString().includes('secret outside'), `${method} ${target} leaked the secret`);
      }
    });
  }

  test('a raw NUL byte in the request line is refused', async () => {
    const r = await rawHttp(ts.node.httpPort, 'GET /dev1/usage\0.fid HTTP/1.1');
    assert.ok(r.status >= 400 && r.status < 500, `answered ${r.status}`);
  });

  test('side channel refuses the same paths', async () => {
    assert.ok(ts.node.mgmtPort);
    const sc = await connectSideChannel(ts.node.mgmtPort);
    try {
      for (const target of attempts.filter((a) => a.startsWith('/'))) {
        for (const cmd of ['size', 'md5', 'delete']) {
          const reply = await sc.ask(`${cmd} ${target}`);
          assert.ok(reply.startsWith('ERROR'), `${cmd} ${target} answered ${reply}`);
        }
      }
      // Still usable afterwards.
      assert.match(await sc.ask('size /dev1/usage'), /^\/dev1\/usage \d+$/);
    } finally {
      sc.close();
    }
  });

  test('nothing outside the device was touched', async () => {
    assert.deepEqual(await snapshot(base).then((s) => s.filter((p) => !p.includes(`dev1${path.sep}usage`) && !p.includes(`dev2${path.sep}usage`))),
      beforeOutside.filter((p) => !p.includes(`dev1${path.sep}usage`) && !p.includes(`dev2${path.sep}usage`)));
    assert.deepEqual(await snapshot(path.join(ts.docroot, 'dev1')), before1);
    assert.equal(await readFile(path.join(outside, 'secret.fid'), 'utf8'), SECRET);
    assert.equal(await readFile(path.join(ts.docroot, 'docroot-secret'), 'utf8'), SECRET);
    assert.ok((await stat(path.join(ts.docroot, 'dev2', 'other.fid'))).isFile());
  });

  test('a symlinked device directory itself is allowed (devices are often mount points)', async () => {
    const real = path.join(base, 'disk3');
    await mkdir(real);
    await symlink(real, path.join(ts.docroot, 'dev3'));
    const put = await rawHttp(ts.node.httpPort, 'PUT /dev3/0/000/000/0000000005.fid HTTP/1.1\r\nContent-Length: 2', 'ok');
    assert.equal(put.status, 201);
    assert.equal(await readFile(path.join(real, '0', '000', '000', '0000000005.fid'), 'utf8'), 'ok');
    const get = await rawHttp(ts.node.httpPort, 'GET /dev3/0/000/000/0000000005.fid HTTP/1.1');
    assert.equal(get.status, 200);
    assert.equal(get.body.toString(), 'ok');
  });
});
