/**
 * Rebalance with the original's policy language and commands, on a real
 * cluster (two trackers, two hosts of two devices): rebalance_test lists
 * the devices a policy picks; a run moves a share of the files of the
 * source device to the destination (copy, then the source copy removed),
 * status reports the progress, stop and start resume where it stopped, no
 * file ever drops below mindevcount and every file reads throughout; and
 * `mogadm rebalance` drives it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from './helpers/engines';
import { mogadm } from './helpers/mogadm';
import { startMultiCluster, storeReplicated, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';
import { initialState, saveState } from '../src/tracker/rebalance/policy';

const N = 60;
const MOVE = 10;

/** Matches a MogError by its wire code. */
function code(c: string) {
  return (e: unknown): boolean => (e as { code?: string }).code === c;
}

function stateOf(text: string): Record<string, string> {
  return Object.fromEntries(text.split(' ').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

forEachEngine((engine) => {
  let c: MultiCluster;
  let data = new Map<string, Buffer>();

  before(async () => {
    c = await startMultiCluster({ engine });
    data = await storeReplicated(c, 'rebal/', N, (i) => 4_000 + i * 50);
  });
  after(async () => { await c?.stop(); });

  test('commands answer as the original before any policy', async () => {
    const a = c.admin(0);
    await assert.rejects(a.rebalance('status'), code('no_rebal_state'));
    await assert.rejects(a.rebalance('start'), code('no_rebal_policy'));
    await assert.rejects(a.rebalance('stop'), code('rebal_not_started'));
    await assert.rejects(a.rebalanceSetPolicy('from_devices=1 bogus_key=2'), code('bad_rebal_pol'));
    await assert.rejects(a.rebalanceSetPolicy('limit_by=count'), code('bad_rebal_pol'));
  });

  test('rebalance_test lists the source and destination devices of the policy', async () => {
    const a = c.admin(0);
    await a.rebalanceSetPolicy('from_hosts=1 to_hosts=2');
    assert.deepEqual({ ...(await a.rebalance('test')) }, { sdevs: '1,2', ddevs: '3,4' });
    await a.rebalanceSetPolicy('from_devices=1 not_to_devices=4');
    assert.deepEqual({ ...(await a.rebalance('test')) }, { sdevs: '1', ddevs: '2,3' });
  });

  test('a run moves a share of the source device to the destination, resumes after stop, files read throughout', async () => {
    const a = c.admin(0);
    const cl = c.client([0, 1]);
    const before = (await c.stores[0].moves.deviceUsage(1)).files;
    const before2 = (await c.stores[0].moves.deviceUsage(2)).files;
    assert.ok(before >= MOVE + 2, `only ${before} files on dev1`);
    // Slow the injection down (2 fids a pass, a pass a second) so stop lands mid-run.
    await c.stores[0].setSetting('queue_rate_for_rebal', '2');
    await a.rebalanceSetPolicy(`from_devices=1 to_devices=2 limit_type=device limit_by=count limit=${MOVE}`);

    let reading = true;
    let readErrors = 0;
    let low: string | null = null;
    const reader = (async () => {
      while (reading) {
        for (const [k, d] of data) {
          const got = await cl.getBuffer(k).catch(() => null);
          if (!got || !got.equals(d)) readErrors++;
          const devids = (await cl.fileInfo(k, { devices: true })).devids!;
          if (devids.length < 2 && !low) low = `${k} on ${devids.join(',')}`;
        }
      }
    })();
    try {
      const started = await a.rebalance('start');
      assert.match(started.state ?? '', /source_devs=1\b/);
      await waitFor('some fids queued', async () => Number(stateOf((await a.rebalance('status')).state ?? '').fids_queued) >= 2, 20_000);
      // The source device is in drain while it is worked on.
      assert.equal((await a.getDevices()).find((d) => d.devid === 1)?.status, 'drain');
      await a.rebalance('stop');
      await waitFor('the rebalance to stop', async () => !(await c.stores[0].getSettings()).rebal_host, 20_000);
      const stopped = stateOf((await a.rebalance('status')).state ?? '');
      assert.ok(Number(stopped.time_stopped) > 0, 'time_stopped not set');
      assert.ok(Number(stopped.fids_queued) < MOVE, `already queued ${stopped.fids_queued}`);
      assert.equal(stopped.sdev_current, '1');
      assert.equal((await a.getDevices()).find((d) => d.devid === 1)?.status, 'alive', 'the source is alive again after stop');
      await assert.rejects(a.rebalance('stop'), code('rebal_not_started'));

      // Start again: it continues from the saved state (another tracker may run it).
      await c.admin(1).rebalance('start');
      await assert.rejects(a.rebalance('start'), code('rebal_running'));
      await assert.rejects(a.rebalance('reset'), code('rebal_running'));
      await assert.rejects(a.rebalanceSetPolicy('from_devices=2'), code('no_set_rebal'));
      await waitFor('the rebalance to finish', async () => Number(stateOf((await a.rebalance('status')).state ?? '').time_finished) > 0, 60_000);
      await waitFor('the moves to be done', async () => (await c.stores[0].queueDepths()).replicate === 0, 60_000);
    } finally {
      reading = false;
      await reader;
    }
    const done = stateOf((await a.rebalance('status')).state ?? '');
    assert.equal(done.fids_queued, String(MOVE));
    assert.equal(done.completed_devs, '1');
    assert.equal(done.source_devs, '');
    assert.equal(readErrors, 0, 'reads failed during the rebalance');
    assert.equal(low, null, `a file dropped below mindevcount: ${low}`);
    assert.equal((await c.stores[0].moves.deviceUsage(1)).files, before - MOVE);
    assert.equal((await c.stores[0].moves.deviceUsage(2)).files, before2 + MOVE);
    assert.equal((await a.getDevices()).find((d) => d.devid === 1)?.status, 'alive');
    for (const [k, d] of data) {
      const devids = (await cl.fileInfo(k, { devices: true })).devids!;
      assert.equal(new Set(devids.map((x) => c.hostOf.get(x))).size, 2, `${k} not on 2 hosts: ${devids}`);
      assert.ok((await cl.getBuffer(k)).equals(d), k);
    }
    // reset forgets the state; the policy stays.
    await a.rebalance('reset');
    await assert.rejects(a.rebalance('status'), code('no_rebal_state'));
  });

  test('mogadm rebalance policy/test/start/status/stop against our tracker', async () => {
    const t = `--trackers=${c.addrs[0]}`;
    const run = async (...args: string[]): Promise<string> => {
      const r = await mogadm([t, 'rebalance', ...args]);
      assert.equal(r.code, 0, `mogadm rebalance ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await run('policy', '--options=from_devices=3 to_devices=4 limit_by=count limit=1');
    assert.equal(await run('test'), 'Tested rebalance policy...\nPolicy: from_devices=3 to_devices=4 limit_by=count limit=1\n\nSource devices:\n - 3\nDestination devices:\n - 4\n');
    await run('start');
    await waitFor('the rebalance to finish', async () => !(await c.stores[0].getSettings()).rebal_host, 30_000);
    const status = await run('status');
    assert.match(status, /^Rebalance is stopped\nRebalance status:\n/);
    assert.match(status, /^ +fids_queued = 1$/m);
    assert.match(status, /^ +completed_devs = 3$/m);
    assert.match(await run('settings'), /^ +rebal_policy = from_devices=3 to_devices=4 limit_by=count limit=1$/m);
    const stop = await mogadm([t, 'rebalance', 'stop']);
    assert.equal(stop.code, 1);
    assert.match(stop.stderr, /rebal_not_started/);
    await run('reset');
  });

  test('a run outlives the tracker that started it: the other tracker carries it to the end', async () => {
    const a0 = c.admin(0);
    const a1 = c.admin(1);
    const cl = c.client([1]);
    const limit = 8;
    const before = (await c.stores[1].moves.deviceUsage(2)).files;
    const before1 = (await c.stores[1].moves.deviceUsage(1)).files;
    await c.stores[1].setSetting('queue_rate_for_rebal', '2');
    await a0.rebalanceSetPolicy(`from_devices=2 to_devices=1 limit_type=device limit_by=count limit=${limit}`);
    await a0.rebalance('start');
    await waitFor('some fids queued', async () => Number(stateOf((await a1.rebalance('status')).state ?? '').fids_queued) >= 2, 20_000);
    // The tracker that took the start command goes away mid-run.
    await c.closeTracker(0);
    await waitFor('the rebalance to finish on the surviving tracker',
      async () => Number(stateOf((await a1.rebalance('status')).state ?? '').time_finished) > 0, 60_000);
    await waitFor('the moves to be done', async () => (await c.stores[1].queueDepths()).replicate === 0, 60_000);
    assert.equal(stateOf((await a1.rebalance('status')).state ?? '').fids_queued, String(limit));
    assert.equal((await c.stores[1].moves.deviceUsage(2)).files, before - limit);
    assert.equal((await c.stores[1].moves.deviceUsage(1)).files, before1 + limit);
    for (const [k, d] of data) {
      const devids = (await cl.fileInfo(k, { devices: true })).devids!;
      assert.ok(devids.length >= 2, `${k} on ${devids}`);
      assert.ok((await cl.getBuffer(k)).equals(d), k);
    }
  });

  test('a source an operator marked down meanwhile keeps that state: skipped, never brought back to alive', async () => {
    // Tracker 0 is gone (the test before): this runs on tracker 1.
    const a = c.admin(1);
    await a.rebalanceSetPolicy('from_devices=4 to_devices=2 limit_by=count limit=1');
    // A run that was working on dev4 when the operator took it down.
    await c.stores[1].setSetting('rebal_state', saveState({ ...initialState(Math.floor(Date.now() / 1000)), sdev_current: 4, sdev_limit: '1' }));
    await a.setState('node2', 4, 'down');
    try {
      await a.rebalance('start');
      await waitFor('the rebalance to finish', async () => Number(stateOf((await a.rebalance('status')).state ?? '').time_finished) > 0, 30_000);
      const done = stateOf((await a.rebalance('status')).state ?? '');
      assert.equal(done.completed_devs, '4');
      assert.equal(done.fids_queued, '0', 'moves queued off a device that is down');
      assert.equal((await a.getDevices()).find((d) => d.devid === 4)?.status, 'down');
    } finally {
      await a.setState('node2', 4, 'alive');
      await a.rebalance('reset').catch(() => undefined);
    }
  });
});
