/**
 * mogstored as operators run it: a mogstored.conf in the original's format,
 * flags overriding it, metrics for requests, bytes and device space; and a
 * tracker whose metrics show the device space its monitor learned.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './helpers/ports';
import { rawHttp } from './helpers/storage';
import { LineClient } from './helpers/tracker';
import { hasSample, httpGet, jsonLogs, sample, spawnDaemon, terminate } from './helpers/daemons';
import type { Daemon } from './helpers/daemons';
import { waitFor } from './helpers/multitracker';
import { isTempName } from '../src/storage';

const HTTP = /http=127\.0\.0\.1:(\d+)/;
const METRICS = /metrics=127\.0\.0\.1:(\d+)/;

function port(line: string, re: RegExp): number {
  const m = re.exec(line);
  assert.ok(m, `${re} not in: ${line}`);
  return Number(m[1]);
}

async function stopCleanly(d: Daemon, name: string): Promise<void> {
  const r = await terminate(d);
  assert.deepEqual(r, { code: 0, signal: null }, d.stderr());
  assert.match(d.stderr(), new RegExp(`${name} stopped`));
  assert.doesNotMatch(d.stderr(), /did not stop/);
}

describe('mogstored daemon', () => {
  let dir: string;
  let docroot: string;
  let conf: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-daemons-st-'));
    docroot = path.join(dir, 'data');
    for (const dev of ['dev1', 'dev2']) await fs.mkdir(path.join(docroot, dev), { recursive: true });
    conf = path.join(dir, 'mogstored.conf');
    await fs.writeFile(
      conf,
      [
        '# mogstored.conf: keys are the long flag names',
        'httplisten = 127.0.0.1:0',
        'mgmtlisten = 127.0.0.1:0',
        `docroot = ${docroot}   # comments may follow a value`,
        'maxconns = 10000',
        'metrics = 127.0.0.1:0',
        'made_up = yes',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('takes its settings from the config file; flags override them', async () => {
    const a = spawnDaemon('mogstored', ['--config', conf]);
    try {
      const line = await a.ready;
      assert.match(line, new RegExp(`docroot=${docroot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`));
      assert.match(line, /mgmt=127\.0\.0\.1:\d+/);
      assert.match(line, METRICS);
      const logs = jsonLogs(a.stderr());
      const warn = logs.find((l) => l.key === 'made_up');
      assert.ok(warn, a.stderr());
      assert.equal(warn.level, 40);
      assert.ok(!logs.some((l) => l.key === 'maxconns'), 'the original\'s keys are not unknown');
    } finally {
      await stopCleanly(a, 'mogstored');
    }

    const other = path.join(dir, 'other');
    await fs.mkdir(path.join(other, 'dev9'), { recursive: true });
    const httpPort = await freePort();
    const b = spawnDaemon('mogstored', ['--config', conf, '--docroot', other, '--httplisten', `127.0.0.1:${httpPort}`, '--no-mgmt', '--metrics', 'off']);
    try {
      const line = await b.ready;
      assert.equal(port(line, HTTP), httpPort);
      assert.match(line, /mgmt=off/);
      assert.match(line, new RegExp(`docroot=${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.doesNotMatch(line, /metrics=/);
    } finally {
      await stopCleanly(b, 'mogstored');
    }
  });

  test('idle_timeout from the config file cuts a stalled upload and removes its temp file', async () => {
    const stalled = path.join(dir, 'stalled.conf');
    await fs.writeFile(stalled, `${await fs.readFile(conf, 'utf8')}idle_timeout = 0.3\n`);
    const d = spawnDaemon('mogstored', ['--config', stalled, '--no-mgmt', '--metrics', 'off']);
    try {
      const web = port(await d.ready, HTTP);
      const uri = '/dev2/0/000/000/0000000044.fid';
      const fidDir = path.join(docroot, path.dirname(uri));
      const sock = net.connect(web, '127.0.0.1');
      let closed = false;
      sock.on('close', () => (closed = true));
      sock.on('error', () => undefined);
      sock.write(`PUT ${uri} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n`);
      sock.write(Buffer.alloc(200_000, 1));
      const temps = async (): Promise<string[]> => (await fs.readdir(fidDir).catch(() => [] as string[])).filter(isTempName);
      await waitFor('the upload temp file', async () => (await temps()).length > 0 || closed, 10_000);
      await waitFor('the stalled upload to be cut off, its temp file gone', async () => closed && (await temps()).length === 0, 10_000);
      await assert.rejects(fs.stat(path.join(docroot, uri)), { code: 'ENOENT' });
    } finally {
      await stopCleanly(d, 'mogstored');
    }
  });

  test('metrics count requests by method and status, bytes, and device space', async () => {
    const d = spawnDaemon('mogstored', ['--config', conf, '--no-mgmt']);
    try {
      const line = await d.ready;
      const web = port(line, HTTP);
      const url = `http://127.0.0.1:${port(line, METRICS)}/metrics`;
      const before = (await httpGet(url)).body;
      const body = Buffer.alloc(10_000, 7);
      const fid = '/dev1/0/000/000/0000000042.fid';
      assert.equal((await rawHttp(web, `PUT ${fid} HTTP/1.1\r\nContent-Length: ${body.length}`, body)).status, 201);
      for (let i = 0; i < 2; i++) assert.equal((await rawHttp(web, `GET ${fid} HTTP/1.1`)).status, 200);
      assert.equal((await rawHttp(web, 'GET /dev1/0/000/000/0000000043.fid HTTP/1.1')).status, 404);
      assert.equal((await rawHttp(web, `DELETE ${fid} HTTP/1.1`)).status, 204);

      const after = (await httpGet(url)).body;
      const delta = (name: string, labels: Record<string, string> = {}): number => sample(after, name, labels) - sample(before, name, labels);
      assert.equal(delta('mogfs_storage_requests_total', { method: 'PUT', status: '201' }), 1);
      assert.equal(delta('mogfs_storage_requests_total', { method: 'GET', status: '200' }), 2);
      assert.equal(delta('mogfs_storage_requests_total', { method: 'GET', status: '404' }), 1);
      assert.equal(delta('mogfs_storage_requests_total', { method: 'DELETE', status: '204' }), 1);
      assert.ok(delta('mogfs_storage_received_bytes_total') >= body.length, after);
      assert.ok(delta('mogfs_storage_sent_bytes_total') >= 2 * body.length);
      for (const devid of ['1', '2']) {
        const total = sample(after, 'mogfs_storage_device_bytes_total', { devid });
        const used = sample(after, 'mogfs_storage_device_bytes_used', { devid });
        const avail = sample(after, 'mogfs_storage_device_bytes_available', { devid });
        assert.ok(total > 0 && used >= 0 && used <= total && avail <= total, `dev${devid}: ${total} ${used} ${avail}`);
      }
      assert.ok(hasSample(after, 'process_resident_memory_bytes'));
    } finally {
      await stopCleanly(d, 'mogstored');
    }
  });

  test("the tracker's metrics show the device space its monitor recorded", async () => {
    const st = spawnDaemon('mogstored', ['--docroot', docroot, '--httplisten', '127.0.0.1:0', '--mgmtlisten', '127.0.0.1:0']);
    const tr = spawnDaemon('mogilefsd', ['-s', '--db', `sqlite:${path.join(dir, 't.sqlite')}`, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    try {
      const httpPort = port(await st.ready, HTTP);
      const tline = await tr.ready;
      const c = await LineClient.connect(Number(/listening 127\.0\.0\.1:(\d+)/.exec(tline)?.[1]));
      assert.match(await c.send(`create_host host=st1&ip=127.0.0.1&port=${httpPort}&status=alive`), /^OK /);
      assert.match(await c.send('create_device hostname=st1&devid=1&state=alive'), /^OK/);
      c.close();
      const url = `http://127.0.0.1:${port(tline, METRICS)}/metrics`;
      const deadline = Date.now() + 30_000;
      let text = '';
      while (Date.now() < deadline) {
        text = (await httpGet(url)).body;
        if (sample(text, 'mogfs_tracker_device_mb_total', { devid: '1' }) > 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const total = sample(text, 'mogfs_tracker_device_mb_total', { devid: '1', hostid: '1' });
      assert.ok(total > 0, `device space never appeared:\n${text}`);
      const used = sample(text, 'mogfs_tracker_device_mb_used', { devid: '1' });
      assert.ok(used >= 0 && used <= total);
    } finally {
      await stopCleanly(tr, 'mogilefsd');
      await stopCleanly(st, 'mogstored');
    }
  });
});
