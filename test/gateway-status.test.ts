/**
 * The status page: the tracker's `mogfs_stats` on both engines (files and
 * bytes per domain, backlogs, the tracker's recent errors), the gateway's
 * /.mogfs-dir/status.json over it and over a stock tracker (which cannot
 * count: the page says so), and the HTML page in headless Chromium
 * (Debian's /usr/bin/chromium): no console output at all (errors, failed
 * loads and uncaught exceptions all land there), the cluster's devices
 * shown, and a refresh fetched. Screenshots go to a temp dir, or to
 * $MOGFS_STATUS_SCREENSHOTS (docs/ keeps docs/status.png from such a run).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { gatewayOn, request } from './helpers/gateway';
import type { Gateway } from '../src/gateway';
import { MogileFS } from '../src/client';

const CHROMIUM = '/usr/bin/chromium';

interface Status {
  extensions: boolean;
  devices: Array<{ devid: number; host: string; status: string; mbTotal: number; mbUsed: number; mbFree: number }>;
  hosts: Array<{ name: string; status: string }>;
  domains: Array<{ name: string; files: number | null; bytes: number | null }>;
  queues: { replicate: number | null; delete: number | null };
  errors: Array<{ from: string; source: string; message: string }>;
  gateway: { requests: number };
  notes: string[];
}

async function status(gw: Gateway): Promise<Status> {
  const r = await request(gw.url, '/.mogfs-dir/status.json');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  return JSON.parse(r.body.toString()) as Status;
}

/** Runs headless Chromium on `url`; resolves to stdout and the console lines it logged. */
async function chromium(args: string[], url: string): Promise<{ stdout: string; console: string[] }> {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-chromium-'));
  const child = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--enable-logging=stderr', '--v=0',
    `--user-data-dir=${profile}`, ...args, url,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  await fs.rm(profile, { recursive: true, force: true });
  assert.equal(code, 0, `chromium exited ${code}: ${stderr.slice(-2000)}`);
  // Chromium logs every console message (and every uncaught exception and failed load) as a CONSOLE line.
  return { stdout, console: stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l)) };
}

forEachEngine((engine) => {
  describe('mogfs_stats and status.json', () => {
    let c: Cluster;
    let gw: Gateway;

    before(async () => {
      c = await startCluster({ engine });
      await c.admin.createDomain('photos');
      const photos = new MogileFS({ trackers: c.trackers, domain: 'photos' });
      try {
        for (let i = 0; i < 3; i++) await photos.storeBuffer(`p${i}.jpg`, Buffer.alloc(1000 + i));
      } finally {
        await photos.close();
      }
      await c.client.storeBuffer('one.txt', Buffer.from('12345'));
      gw = await gatewayOn(c.trackers, []);
    });
    after(async () => {
      await gw?.close();
      await c?.stop();
    });

    test('mogfs_stats: files and bytes per domain, backlogs', async () => {
      const r = await c.client.tracker.call('mogfs_stats');
      const byName = new Map<string, { files: number; bytes: number }>();
      for (let i = 1; i <= Number(r.domain_count); i++) byName.set(r[`domain_${i}_name`], { files: Number(r[`domain_${i}_files`]), bytes: Number(r[`domain_${i}_bytes`]) });
      assert.deepEqual(byName.get('photos'), { files: 3, bytes: 3003 });
      assert.deepEqual(byName.get('default'), { files: 1, bytes: 5 });
      assert.ok(Number(r.replicate_queue) >= 0 && Number(r.delete_queue) >= 0);
      assert.equal(r.error_count, '0');
    });

    test('status.json: hosts, devices with space, domains with counts, backlogs', async () => {
      const s = await status(gw);
      assert.equal(s.extensions, true);
      assert.deepEqual(s.hosts.map((h) => [h.name, h.status]), [['node1', 'alive'], ['node2', 'alive']]);
      assert.deepEqual(s.devices.map((d) => [d.devid, d.host, d.status]), [[1, 'node1', 'alive'], [2, 'node1', 'alive'], [3, 'node2', 'alive'], [4, 'node2', 'alive']]);
      for (const d of s.devices) assert.ok(d.mbTotal > 0 && d.mbUsed >= 0 && d.mbFree === d.mbTotal - d.mbUsed, JSON.stringify(d));
      assert.deepEqual(s.domains.find((d) => d.name === 'photos'), { name: 'photos', classes: 1, files: 3, bytes: 3003 });
      assert.equal(typeof s.queues.replicate, 'number');
      assert.deepEqual(s.notes, []);
    });

    test('recent errors: the tracker\'s (a node gone) and the gateway\'s own (no replica readable)', async () => {
      await c.stopNode(1);
      try {
        await c.waitFor('the tracker to log the dead node', async () => {
          const s = await status(gw);
          return s.errors.some((e) => e.from === 'tracker' && /unreachable/.test(e.message));
        });
      } finally {
        await c.startNode(1);
      }
      // Every replica's node down: the gateway's read fails, and says so on the page.
      await c.stopNode(0);
      await c.stopNode(1);
      try {
        assert.equal((await request(gw.url, '/default/one.txt')).status, 502);
      } finally {
        await c.startNode(0);
        await c.startNode(1);
      }
      const s = await status(gw);
      assert.ok(s.errors.some((e) => e.from === 'gateway' && /replica .* failed/.test(e.message)), JSON.stringify(s.errors));
    });
  });
});

describe('status page against a stock tracker', () => {
  let c: Cluster;
  let gw: Gateway;
  before(async () => {
    c = await startCluster({ tracker: { extensions: false } });
    gw = await gatewayOn(c.trackers, []);
  });
  after(async () => {
    await gw?.close();
    await c?.stop();
  });

  test('devices still listed; counts and backlogs unknown, and the page says why', async () => {
    const s = await status(gw);
    assert.equal(s.extensions, false);
    assert.equal(s.devices.length, 4);
    assert.equal(s.domains.find((d) => d.name === 'default')?.files, null);
    assert.equal(s.queues.replicate, null);
    assert.match(s.notes.join(' '), /stock MogileFS tracker/);
  });
});

describe('status page in headless Chromium', () => {
  let c: Cluster;
  let gw: Gateway;
  let shots: string;
  let skip: string | null = null;

  before(async () => {
    try {
      await fs.access(CHROMIUM, fs.constants.X_OK);
    } catch {
      skip = `${CHROMIUM} is not installed (apt-get install chromium; scripts/ensure.js test does)`;
      return;
    }
    shots = process.env.MOGFS_STATUS_SCREENSHOTS ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-shots-')));
    c = await startCluster();
    await c.admin.createDomain('photos');
    for (let i = 0; i < 5; i++) await c.client.storeBuffer(`images/${i}.jpg`, Buffer.alloc(20_000 * (i + 1)));
    gw = await gatewayOn(c.trackers, []);
  });
  after(async () => {
    await gw?.close();
    await c?.stop();
    if (shots && !process.env.MOGFS_STATUS_SCREENSHOTS) await fs.rm(shots, { recursive: true, force: true });
  });

  test('the harness sees console errors (so a quiet page means something)', async (t) => {
    if (skip) return t.skip(skip);
    const bad = await chromium(['--virtual-time-budget=1000', '--dump-dom'], 'data:text/html,<script>console.error("boom")</script>');
    assert.ok(bad.console.some((l) => l.includes('boom')), 'console.error was not seen');
  });

  test('loads without console errors, shows every device, and refreshes itself', async (t) => {
    if (skip) return t.skip(skip);
    const before1 = (await status(gw)).gateway.requests;
    // 12 s of virtual time: the page's 5 s refresh runs twice.
    const r = await chromium(['--virtual-time-budget=12000', '--dump-dom'], `${gw.url}/.mogfs-dir/status`);
    assert.deepEqual(r.console, []);
    for (const devid of [1, 2, 3, 4]) assert.match(r.stdout, new RegExp(`data-devid="${devid}"`), `device ${devid} row`);
    assert.match(r.stdout, /dev1<\/b> on node1/);
    assert.match(r.stdout, /<td>photos<\/td>/);
    assert.match(r.stdout, /to replicate/);
    const after1 = (await status(gw)).gateway.requests;
    // Ours (1), the page (1), and at least one refresh of status.json.
    assert.ok(after1 - before1 >= 3, `requests ${before1} -> ${after1}: the page did not refresh`);
  });

  test('screenshots at desktop and phone widths', async (t) => {
    if (skip) return t.skip(skip);
    // A device being drained shows its state beside it.
    await c.admin.setState('node2', 4, 'drain');
    for (const [name, size] of [['status.png', '1100,1000'], ['status-phone.png', '390,844']]) {
      const file = path.join(shots, name);
      const r = await chromium([`--screenshot=${file}`, `--window-size=${size}`, '--hide-scrollbars', '--virtual-time-budget=2000'], `${gw.url}/.mogfs-dir/status`);
      assert.deepEqual(r.console, []);
      assert.ok((await fs.stat(file)).size > 5000, `${file} looks empty`);
    }
  });
});
