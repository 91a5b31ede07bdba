/**
 * Storage faults ("loses nothing"): a storage node that dies while a large
 * upload streams to it, an upload abandoned by a client that vanished (its
 * tempfile row is reaped), and a node that is down while a file has only one
 * copy (reads fail over once the file is replicated). Dead devices:
 * fault-dead-device.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import { MogError } from '../src/client';
import { isTempName } from '../src/storage';
import { forEachEngine } from './helpers/engines';
import { LineClient } from './helpers/tracker';
import { exists, filesOnDisk, startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';

const MiB = 1024 * 1024;
const nowSec = (): number => Math.floor(Date.now() / 1000);

const isCode = (code: string) => (e: unknown): boolean => {
  assert.ok(e instanceof MogError, `expected MogError(${code}), got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};

forEachEngine((engine) => {
  let c: MultiCluster;
  // A short tempfile timeout, so the reaper's work shows within a test.
  before(async () => { c = await startMultiCluster({ engine, trackers: 1, tracker: { tempfileTimeoutSec: 2 } }); });
  after(async () => { await c?.stop(); });

  /** The open upload (tempfile row) for `key`, if any. */
  async function tempfileFor(key: string) {
    return (await c.stores[0].listStaleTempfiles(nowSec() + 3600, 1000)).find((t) => t.dkey === key) ?? null;
  }

  /** Index in c.nodes of the node holding devid. */
  const nodeOf = (devid: number): number => c.nodes.findIndex((n) => n.devids.includes(devid));

  /** Partial uploads the storage nodes still hold (their temp files). */
  async function partialUploads(): Promise<string[]> {
    return (await filesOnDisk(c)).filter((f) => isTempName(f.split('/').pop() ?? ''));
  }

  async function assertInvisible(key: string): Promise<void> {
    const cl = c.client([0]);
    await assert.rejects(cl.fileInfo(key), isCode('unknown_key'));
    await assert.rejects(cl.getPaths(key), isCode('unknown_key'));
    assert.deepEqual((await cl.listKeys(key)).keys, []);
  }

  test('a storage node stopped while a large PUT streams to it: the store rejects and no key appears', async () => {
    const key = 'fault/big-upload.bin';
    const size = 256 * MiB;
    let sent = 0;
    let stopped: Promise<number> | null = null;
    const chunk = randomBytes(MiB);
    const stream = new Readable({
      read() {
        if (sent >= 16 * MiB && !stopped) {
          // 16 MiB are on the wire: find the node it streams to and stop it.
          stopped = (async () => {
            const t = await tempfileFor(key);
            assert.ok(t, 'no tempfile row for the running upload');
            const i = nodeOf(Number((t.devids ?? '').split(',')[0]));
            await c.stopNode(i);
            return i;
          })();
          void stopped.then(() => this.push(chunk), (e: Error) => this.destroy(e));
          return;
        }
        if (sent >= size) return void this.push(null);
        sent += chunk.length;
        this.push(chunk);
      },
    });
    const cl = c.client([0]);
    await assert.rejects(cl.storeStream(key, stream, { size }), (e: unknown) => {
      assert.ok(e instanceof Error);
      return true;
    });
    assert.ok(stopped, 'the upload ended before the node could be stopped');
    const i = await stopped;
    assert.ok(sent < size, 'the whole file was sent');
    await assertInvisible(key);
    await waitFor('the tempfile row to go', async () => (await tempfileFor(key)) === null, 20_000);

    await c.startNode(i);
    await waitFor('no partial upload left on the restarted node', async () => (await partialUploads()).length === 0, 20_000);
    assert.deepEqual((await filesOnDisk(c)).filter((f) => f.endsWith('.fid')), []);
    await assertInvisible(key);
  });

  test('an upload whose client vanished before create_close: no key, and the tempfile row is reaped', async () => {
    const key = 'fault/abandoned.bin';
    const lc = await LineClient.connect(c.trackers[0]!.port);
    const open = await lc.ok('create_open', { domain: 'default', key, multi_dest: 1 });
    const fid = Number(open.fid);
    assert.ok(await tempfileFor(key), 'create_open left no tempfile row');

    // Half the announced body, then the client is gone: no create_close ever comes.
    const url = new URL(open.path_1);
    const put = net.connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => { put.once('connect', resolve); put.once('error', reject); });
    put.write(`PUT ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: ${4 * MiB}\r\n\r\n`);
    await new Promise<void>((resolve) => put.write(randomBytes(2 * MiB), () => resolve()));
    put.destroy();
    lc.close();

    await waitFor('the reaper to remove the tempfile row', async () => (await tempfileFor(key)) === null, 30_000);
    assert.equal(await c.stores[0].getTempfile(fid), null);
    await assertInvisible(key);
    await waitFor('no partial upload left on the node', async () => (await partialUploads()).length === 0, 20_000);
    for (const d of [1, 2, 3, 4]) assert.ok(!(await exists(c.fidFile(d, fid))), `fid ${fid} is on dev${d}`);
    // Nothing of it is left to replicate or to delete either.
    await waitFor('queues to drain', async () => {
      const q = await c.stores[0].queueDepths();
      return q.replicate === 0 && q.delete === 0;
    }, 20_000);
  });

  test('a node down while a file has one copy: reads fail over once the file is replicated', async () => {
    const key = 'fault/lonely.bin';
    const data = randomBytes(300_000);
    const admin = c.admin(0);
    const cl = c.client([0]);

    await c.stopNode(1);
    await waitFor('the tracker to see node2 unwritable', async () => {
      const devs = await admin.getDevices();
      return devs.filter((d) => d.devid >= 3).every((d) => d.observed_state !== 'writeable');
    });
    const r = await cl.storeBuffer(key, data);
    const host1 = c.hostOf.get(1);
    let info = await cl.fileInfo(key, { devices: true });
    assert.ok(info.devids!.every((d) => c.hostOf.get(d) === host1), `copies on ${info.devids} while node2 is down`);
    assert.deepEqual(await cl.getBuffer(key), data);

    await c.startNode(1);
    await waitFor('a copy on each host', async () => {
      info = await cl.fileInfo(key, { devices: true });
      return new Set(info.devids!.map((d) => c.hostOf.get(d))).size === 2;
    });
    // An extra same-host copy made while node2 was down is shed again.
    await waitFor('exactly mindevcount copies', async () => (await cl.fileInfo(key)).devcount === 2);

    // node1 goes away without the tracker having noticed yet: the reader fails over.
    await c.stopNode(0);
    try {
      assert.deepEqual(await cl.getBuffer(key), data);
      const paths = await cl.getPaths(key, { noverify: true });
      assert.ok(paths.some((p) => p.includes('//127.0.0.2:')), `no path on node2: ${paths}`);
    } finally {
      await c.startNode(0);
    }
    assert.equal((await cl.fileInfo(key)).fid, r.fid);
  });
});
