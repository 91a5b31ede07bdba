/**
 * nginx in front of the gateway, end to end: Debian's nginx runs as a child
 * process (its own prefix, pid file and temp dirs in a temp dir, a free
 * 127.0.0.1 port; never the system nginx) with docs/nginx-gateway.conf as
 * shipped, only its listen port and gateway address changed. Short URLs come
 * back with the stored bytes and the gateway's headers; ranges and 304s work
 * through it; a dead first replica's node is passed over.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { gatewayOn, request } from './helpers/gateway';
import { freePort } from './helpers/ports';
import type { Gateway } from '../src/gateway';

const NGINX = '/usr/sbin/nginx';
const DOCS = path.resolve(__dirname, '..', '..', 'docs');

async function nginxMissing(): Promise<string | null> {
  try {
    await fs.access(NGINX, fs.constants.X_OK);
    return null;
  } catch {
    return `${NGINX} is not installed (apt-get install nginx; scripts/ensure.js test does)`;
  }
}

interface Nginx {
  url: string;
  stop(): Promise<void>;
  log(): string;
}

/** nginx on a free port from the example config, pointed at `gatewayPort`. */
async function startNginx(dir: string, gatewayPort: number): Promise<Nginx> {
  const port = await freePort();
  const site = (await fs.readFile(path.join(DOCS, 'nginx-gateway.conf'), 'utf8'))
    .replace(/listen 8080;/, `listen 127.0.0.1:${port};`)
    .replace(/server 127\.0\.0\.1:7080;/, `server 127.0.0.1:${gatewayPort};`);
  assert.match(site, new RegExp(`listen 127.0.0.1:${port};`), 'the example config still listens on 8080');
  await fs.writeFile(path.join(dir, 'site.conf'), site);
  await fs.copyFile(path.join(DOCS, 'mogfs-storage-proxy.conf'), path.join(dir, 'mogfs-storage-proxy.conf'));
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${path.join(dir, `tmp_${t}`)};`).join('\n  ');
  await fs.writeFile(path.join(dir, 'nginx.conf'), `worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  ${temps}
  include ${path.join(dir, 'site.conf')};
}
`);
  let log = '';
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')}; error_log stderr;`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  // Up once it answers (a 404 from the gateway for a path no route has is an answer).
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${log}`);
    try {
      await request(url, '/.mogfs-dir/none');
      break;
    } catch (e) {
      if (i > 200) throw new Error(`nginx did not answer: ${String(e)} ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGQUIT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

describe('nginx in front (X-Accel-Redirect)', () => {
  let skip: string | null = null;
  let c: Cluster;
  let gw: Gateway;
  let nginx: Nginx;
  let dir: string;
  const aqua = randomBytes(150_000);
  const files = new Map<string, Buffer>();

  before(async () => {
    skip = await nginxMissing();
    if (skip) return;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-nginx-'));
    c = await startCluster();
    await c.client.storeBuffer('images/aqua.jpg', aqua, { attrs: { mtimeSec: 1_700_000_000, mtimeNsec: 0 } });
    for (let i = 0; i < 4; i++) {
      files.set(`more/${i}.png`, randomBytes(2000 + i));
      await c.client.storeBuffer(`more/${i}.png`, files.get(`more/${i}.png`) as Buffer);
    }
    await c.waitFor('every file on both nodes', async () => {
      for (const k of ['images/aqua.jpg', ...files.keys()]) if ((await c.client.fileInfo(k)).devcount < 2) return false;
      return true;
    });
    // A long cache: the replica order the gateway hands nginx stays what the test saw.
    gw = await gatewayOn(c.trackers, ['/=default'], { xAccel: '/_mogfs_internal', cacheControl: 'public, max-age=3600', cacheMs: 600_000 });
    nginx = await startNginx(dir, gw.port);
  });
  after(async () => {
    await nginx?.stop();
    await gw?.close();
    await c?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  test('a short URL through nginx: the bytes from the storage node, the headers from the gateway', async (t) => {
    if (skip) return t.skip(skip);
    const direct = await request(gw.url, '/images/aqua.jpg');
    assert.equal(direct.status, 200);
    assert.match(String(direct.headers['x-accel-redirect']), /^\/_mogfs_internal\/127\.0\.0\.[12]:\d+\/dev\d+\/0\/000\/000\/\d{10}\.fid$/);
    assert.equal(direct.body.length, 0, 'the gateway itself sends no bytes in this mode');

    const r = await request(nginx.url, '/images/aqua.jpg');
    assert.equal(r.status, 200, nginx.log());
    assert.ok(r.body.equals(aqua), 'bytes identical');
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.equal(r.headers['content-length'], String(aqua.length));
    assert.equal(r.headers.etag, direct.headers.etag);
    assert.equal(r.headers['last-modified'], new Date(1_700_000_000_000).toUTCString());
    assert.equal(r.headers['cache-control'], 'public, max-age=3600');
    assert.equal(r.headers['x-accel-redirect'], undefined);
    assert.equal(r.headers['x-mogfs-next'], undefined);

    const h = await request(nginx.url, '/images/aqua.jpg', { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-length'], String(aqua.length));
  });

  test('ranges, conditional requests and 404s through nginx', async (t) => {
    if (skip) return t.skip(skip);
    const part = await request(nginx.url, '/images/aqua.jpg', { headers: { range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 1000-1999/${aqua.length}`);
    assert.ok(part.body.equals(aqua.subarray(1000, 2000)));
    const past = await request(nginx.url, '/images/aqua.jpg', { headers: { range: `bytes=${aqua.length}-` } });
    assert.equal(past.status, 416);
    const etag = String(part.headers.etag);
    const nm = await request(nginx.url, '/images/aqua.jpg', { headers: { 'if-none-match': etag } });
    assert.equal(nm.status, 304);
    assert.equal((await request(nginx.url, '/images/aqua.jpg', { headers: { 'if-match': '"other"' } })).status, 412);
    assert.equal((await request(nginx.url, '/images/none.jpg')).status, 404);
    // The internal location cannot be asked for from outside.
    const direct = await request(gw.url, '/images/aqua.jpg');
    assert.equal((await request(nginx.url, String(direct.headers['x-accel-redirect']))).status, 404);
  });

  test('the first replica\'s node dead: nginx fetches from the next one', async (t) => {
    if (skip) return t.skip(skip);
    for (const [k, buf] of files) {
      const direct = await request(gw.url, `/${k}`);
      const first = /\/_mogfs_internal\/(127\.0\.0\.[12]):/.exec(String(direct.headers['x-accel-redirect']));
      assert.ok(first, String(direct.headers['x-accel-redirect']));
      const i = c.nodes.findIndex((n) => n.ip === first[1]);
      await c.stopNode(i);
      try {
        const r = await request(nginx.url, `/${k}`);
        assert.equal(r.status, 200, `${k}: ${r.body.toString()} ${nginx.log()}`);
        assert.ok(r.body.equals(buf), `${k}: bytes identical`);
        assert.equal(r.headers['content-type'], 'image/png');
        assert.equal(r.headers.etag, direct.headers.etag);
        assert.equal(r.headers['cache-control'], 'public, max-age=3600');
        assert.equal(r.headers['accept-ranges'], 'bytes');
        const part = await request(nginx.url, `/${k}`, { headers: { range: 'bytes=10-19' } });
        assert.equal(part.status, 206);
        assert.ok(part.body.equals(buf.subarray(10, 20)), `${k}: the range from the next replica`);
      } finally {
        await c.startNode(i);
      }
    }
  });
});
