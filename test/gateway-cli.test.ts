/**
 * `mogfs gateway` as a user runs it: a real process on a free port that says
 * where it listens, serves short URLs (routes, writes where enabled,
 * Cache-Control from its flag) and the status page, and stops on SIGTERM;
 * mistakes in its flags and an unknown domain end it with a clear message.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { cliEnv, removePrivateHome, runMogfs, spawnMogfs } from './helpers/cli';
import { request } from './helpers/gateway';

/** Starts `mogfs gateway args` and resolves with its URL once it says where it listens. */
async function startGatewayCli(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawnMogfs(['gateway', '--port', '0', ...args], await cliEnv());
  let out = '';
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 30 s: ${out} ${err}`)), 30_000);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /mogfs gateway at (http:\/\/[^/\s]+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mogfs gateway exited ${code}: ${out} ${err}`));
    });
  });
  return { child, url, stderr: () => err };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(t);
  return code;
}

describe('mogfs gateway', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster();
    await c.client.storeBuffer('images/aqua.jpg', Buffer.from('jpeg bytes'));
  });
  after(async () => {
    await c?.stop();
    await removePrivateHome();
  });

  test('serves routes and the status page, takes writes where enabled, stops on SIGTERM', async () => {
    const gw = await startGatewayCli([
      '--trackers', c.trackers.join(','), '--route', '/images=default:images/', '--route', '/up=default:up/,rw',
      '--cache-control', 'public, max-age=86400',
    ]);
    try {
      const r = await request(gw.url, '/images/aqua.jpg');
      assert.equal(r.status, 200, gw.stderr());
      assert.equal(r.body.toString(), 'jpeg bytes');
      assert.equal(r.headers['cache-control'], 'public, max-age=86400');
      assert.equal((await request(gw.url, '/images/aqua.jpg', { method: 'DELETE' })).status, 405);
      assert.equal((await request(gw.url, '/up/a.txt', { method: 'PUT', body: Buffer.from('uploaded') })).status, 201);
      assert.equal((await c.client.fileInfo('up/a.txt')).length, 8);
      const page = await request(gw.url, '/.mogfs-dir/status');
      assert.equal(page.status, 200);
      assert.match(page.body.toString(), /<title>mogfs status<\/title>/);
    } finally {
      assert.equal(await stop(gw.child), 0);
    }
  });

  test('every domain as the first segment without --domain; --no-status hides the page', async () => {
    const gw = await startGatewayCli(['--trackers', c.trackers.join(','), '--no-status']);
    try {
      assert.equal((await request(gw.url, '/default/images/aqua.jpg')).body.toString(), 'jpeg bytes');
      assert.equal((await request(gw.url, '/.mogfs-dir/status')).status, 404);
    } finally {
      await stop(gw.child);
    }
  });

  test('flag mistakes and an unknown domain end it with a message', async () => {
    const t = c.trackers.join(',');
    const bad = await runMogfs(['gateway', '--trackers', t, '--prefix', 'images']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--prefix needs --domain/);
    const route = await runMogfs(['gateway', '--trackers', t, '--route', 'images=default']);
    assert.notEqual(route.code, 0);
    assert.match(route.stderr, /must start with "\/"/);
    const dom = await runMogfs(['gateway', '--trackers', t, '--domain', 'nosuch', '--port', '0']);
    assert.notEqual(dom.code, 0);
    assert.match(dom.stderr, /domain "nosuch" does not exist/);
  });
});
