/**
 * Clients that vanish mid-request must not hurt the tracker: hanging up
 * (FIN or RST) during a slow command, before reading a reply, mid-line,
 * with a flood of pipelined requests whose replies it never reads, or right
 * after sending create_close. The tracker keeps serving others, finishes or
 * drops the abandoned work (processing_queries back to 0), and leaves no
 * half-stored key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { MogError } from '../src/client';
import { forEachEngine } from './helpers/engines';
import { LineClient } from './helpers/tracker';
import { startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';

type Hangup = 'end' | 'reset';

function hangUp(lc: LineClient, how: Hangup): void {
  if (how === 'end') lc.socket.end();
  else lc.socket.resetAndDestroy();
}

/** The tracker's `!stats` as numbers. */
async function stats(port: number): Promise<Record<string, number>> {
  const lc = await LineClient.connect(port);
  try {
    lc.write('!stats\r\n');
    const out: Record<string, number> = {};
    for (;;) {
      const l = await lc.readLine();
      if (l === '.') return out;
      const [k, v] = l.split(' ');
      out[k] = Number(v);
    }
  } finally {
    lc.close();
  }
}

forEachEngine((engine) => {
  let c: MultiCluster;
  let port: number;
  before(async () => {
    c = await startMultiCluster({ engine, trackers: 1, tracker: { tempfileTimeoutSec: 2 } });
    port = c.trackers[0]!.port;
  });
  after(async () => { await c?.stop(); });

  /** The tracker still answers, stores and reads, and has no request left running. */
  async function assertHealthy(): Promise<void> {
    const lc = await LineClient.connect(port);
    try {
      assert.equal(await lc.send('noop'), 'OK ');
    } finally {
      lc.close();
    }
    const cl = c.client([0]);
    const data = randomBytes(10_000);
    await cl.storeBuffer('healthy/probe', data);
    assert.ok((await cl.getBuffer('healthy/probe')).equals(data));
    await waitFor('processing_queries to return to 0', async () => (await stats(port)).processing_queries === 0, 10_000);
  }

  for (const how of ['end', 'reset'] as const) {
    test(`hanging up (${how}) during sleep, before a reply, and mid-line`, async () => {
      const sleeper = await LineClient.connect(port);
      sleeper.write('sleep duration=2\r\n');
      const opener = await LineClient.connect(port);
      opener.write('create_open domain=default&key=gone%2Fopen&multi_dest=1\r\n');
      const partial = await LineClient.connect(port);
      partial.write('get_paths domain=default&key=some');
      // Let the requests arrive before the clients vanish.
      await new Promise((r) => setTimeout(r, 50));
      for (const lc of [sleeper, opener, partial]) hangUp(lc, how);
      await assertHealthy();
      await assert.rejects(c.client([0]).fileInfo('gone/open'), (e: unknown) => e instanceof MogError && e.code === 'unknown_key');
    });

    test(`hanging up (${how}) on a flood of pipelined requests whose replies were never read`, async () => {
      const cl = c.client([0]);
      for (let i = 0; i < 20; i++) await cl.storeBuffer(`flood/${String(i).padStart(3, '0')}`, Buffer.from(`x${i}`));
      const flood = await LineClient.connect(port);
      flood.socket.pause(); // read nothing: replies pile up on the tracker's side
      const line = 'list_keys domain=default&prefix=flood%2F&limit=1000\r\n';
      flood.write(line.repeat(3000));
      await new Promise((r) => setTimeout(r, 200));
      hangUp(flood, how);
      await assertHealthy();
    });
  }

  test('hanging up right after create_close: the key is either stored whole or never appears', async () => {
    const keys: string[] = [];
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 10; i++) {
      const key = `closing/${i}`;
      const lc = await LineClient.connect(port);
      const open = await lc.ok('create_open', { domain: 'default', key, multi_dest: 1 });
      const body = randomBytes(100_000 + i);
      const put = await request(open.path_1, { method: 'PUT', body });
      await put.body.dump();
      assert.ok(put.statusCode >= 200 && put.statusCode < 300);
      lc.write(`create_close domain=default&key=${encodeURIComponent(key)}&fid=${open.fid}&devid=${open.devid_1}` +
        `&path=${encodeURIComponent(open.path_1)}&size=${body.length}\r\n`);
      // Vanish at a different moment each time, before or while the tracker checks the upload.
      if (i % 2) await new Promise((r) => setTimeout(r, i));
      hangUp(lc, i % 3 ? 'reset' : 'end');
      keys.push(key);
      bodies.set(key, body);
    }
    await assertHealthy();
    const cl = c.client([0]);
    // Each close either ran (the key is complete) or left an upload the reaper removes.
    await waitFor('no open upload left', async () => (await c.stores[0].listStaleTempfiles(Date.now() / 1000 + 3600, 100)).length === 0, 20_000);
    for (const key of keys) {
      let stored = true;
      try {
        await cl.fileInfo(key);
      } catch (e) {
        if (!(e instanceof MogError && e.code === 'unknown_key')) throw e;
        stored = false;
      }
      if (stored) assert.ok((await cl.getBuffer(key)).equals(bodies.get(key)!), `${key} stored with the wrong bytes`);
    }
  });
});
