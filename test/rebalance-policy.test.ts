// The rebalance policy language and state (src/tracker/rebalance/policy.ts)
// as MogileFS::Rebalance 2.73 reads and writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkLimit, filterDestDevices, filterSourceDevices, humanToBytes, initialState, loadState, parsePolicy, PolicyError,
  saveState, startLimit,
} from '../src/tracker/rebalance/policy';
import type { DeviceInfo } from '../src/tracker/workers/devices';
import { movePlan } from '../src/tracker/workers/moves';
import type { WorkerEnv } from '../src/tracker/workers/env';
import { MOVE_FLAG } from '../src/store';

function dev(devid: number, hostid: number, mbUsed: number, extra: Partial<DeviceInfo> = {}): DeviceInfo {
  return {
    devid, hostid, status: 'alive', hostStatus: 'alive', hostip: '127.0.0.1', httpPort: 7500, weight: 100,
    mbTotal: 1000, mbUsed, observed: { reachable: true, writable: true } as DeviceInfo['observed'], ...extra,
  };
}

const DEVS = [dev(1, 1, 900), dev(2, 1, 500), dev(3, 2, 100), dev(4, 2, 50), dev(5, 3, 950, { status: 'readonly' })];

test('parsePolicy: lists, numbers, defaults, and the original\'s refusals', () => {
  const p = parsePolicy('from_hosts=1,2 to_devices=4 from_percent_used=80 limit_type=global limit_by=size limit=10g leave_in_drain_mode=1');
  assert.deepEqual(p.from_hosts, [1, 2]);
  assert.deepEqual(p.to_devices, [4]);
  assert.equal(p.from_percent_used, 80);
  assert.equal(p.limit_type, 'global');
  assert.equal(p.limit_by, 'size');
  assert.equal(p.leave_in_drain_mode, true);
  assert.equal(p.fid_age, 'old');
  assert.equal(parsePolicy('').limit_type, 'device', 'the default limit_type');
  for (const bad of ['bogus=1', 'limit_by=count', 'limit_by=count limit=ten', 'fid_age=middle', 'limit_type=host',
    'limit_by=some limit=1', 'from_percent_used=lots', 'use_dest_devs=few', 'limit_by=size limit=3x',
    'limit_type=global limit_by=percent limit=10']) {
    assert.throws(() => parsePolicy(bad), PolicyError, bad);
  }
  // A list entry that is no number matches no device (the original compares numerically).
  assert.deepEqual(filterSourceDevices(parsePolicy('from_devices=x'), DEVS), []);
});

test('humanToBytes reads the original\'s suffixes', () => {
  assert.equal(humanToBytes('512'), 512);
  assert.equal(humanToBytes('2k'), 2048);
  assert.equal(humanToBytes('3M'), 3 * 1024 ** 2);
  assert.equal(humanToBytes('1g'), 1024 ** 3);
  assert.equal(humanToBytes('1t'), 1024 ** 4);
  assert.throws(() => humanToBytes('1.5g'), PolicyError);
});

test('source devices: by device, host and fullness; only devices files may be removed from', () => {
  assert.deepEqual(filterSourceDevices(parsePolicy(''), DEVS), [1, 2, 3, 4], 'readonly dev5 cannot shed files');
  assert.deepEqual(filterSourceDevices(parsePolicy('from_hosts=1'), DEVS), [1, 2]);
  assert.deepEqual(filterSourceDevices(parsePolicy('from_percent_used=60'), DEVS), [1]);
  assert.deepEqual(filterSourceDevices(parsePolicy('from_percent_free=80'), DEVS), [3, 4]);
  assert.deepEqual(filterSourceDevices(parsePolicy('from_space_used=400'), DEVS), [1, 2]);
  assert.deepEqual(filterSourceDevices(parsePolicy('from_devices=2,4 from_hosts=2'), DEVS), [4]);
});

test('destination devices: never a source, current or done; to_* and not_to_*', () => {
  const p = parsePolicy('to_hosts=2 not_to_devices=4');
  const gets = (d: DeviceInfo): boolean => d.status === 'alive';
  assert.deepEqual(filterDestDevices(p, null, DEVS, gets), [3]);
  const s = { ...initialState(1), source_devs: [3], sdev_current: 1, completed_devs: [2] };
  assert.deepEqual(filterDestDevices(parsePolicy(''), s, DEVS, gets), [4], 'sources 1,2,3 and readonly 5 left out');
  assert.deepEqual(filterDestDevices(parsePolicy('to_percent_free=90'), null, DEVS, gets), [4]);
});

test('limits: count, size and percent run down and stop', () => {
  const count = parsePolicy('limit_by=count limit=2');
  let l = startLimit(count, 0);
  assert.equal(l, '2');
  for (let i = 0; i < 2; i++) {
    const r = checkLimit(count, l, 100);
    assert.equal(r.ok, true);
    l = r.limit;
  }
  assert.equal(checkLimit(count, l).ok, false, 'no count left');
  const size = parsePolicy('limit_by=size limit=3k');
  l = startLimit(size, 0);
  assert.equal(l, '3072');
  l = checkLimit(size, l, 2048).limit;
  assert.equal(checkLimit(size, l, 2048).ok, false, 'a file larger than what is left does not fit');
  assert.equal(checkLimit(size, l).ok, true, '1 KiB left is still room');
  assert.equal(startLimit(parsePolicy('limit_by=percent limit=25%'), 4000), '1000');
  assert.equal(checkLimit(parsePolicy(''), 'none', 1e12).ok, true);
});

test('state round-trips in the original\'s key=value form and tolerates other versions\' keys', () => {
  const s = { ...initialState(100), source_devs: [3, 4], completed_devs: [1], sdev_current: 2, sdev_lastfid: 77, fids_queued: 5, limit: 'none' };
  const text = saveState(s);
  assert.match(text, /^completed_devs=1 source_devs=3,4 sdev_current=2 sdev_lastfid=77 /);
  assert.deepEqual(loadState(text), s);
  assert.deepEqual(loadState(`${text} some_future_key=9`), s);
});

test('a move job\'s destinations: the policy\'s, or use_dest_devs=N of them at random for each fid', async () => {
  let policy = '';
  const env = { ctx: { store: { getSettings: async () => ({ rebal_policy: policy }) } }, log: { warn() {} } } as unknown as WorkerEnv;
  const devs = new Map(DEVS.map((d) => [d.devid, d]));
  policy = 'to_hosts=2';
  const all = await movePlan(env, MOVE_FLAG, 1, devs);
  assert.deepEqual([...all.dests.keys()], [3, 4]);
  assert.deepEqual([...all.mask], [1]);
  assert.equal(all.idealOnly, true);
  policy = 'to_hosts=2 use_dest_devs=0';
  assert.deepEqual([...(await movePlan(env, MOVE_FLAG, 1, devs)).dests.keys()], [3, 4], '0 is all, as in the original');
  policy = 'to_hosts=2 use_dest_devs=1';
  const seen = new Set<number>();
  for (let i = 0; i < 60; i++) {
    const plan = await movePlan(env, MOVE_FLAG, 1, devs);
    assert.equal(plan.dests.size, 1);
    seen.add([...plan.dests.keys()][0]);
  }
  assert.deepEqual([...seen].sort(), [3, 4]);
  // A plain replication job is no move: every device, nothing masked.
  const plain = await movePlan(env, 0, null, devs);
  assert.equal(plain.dests, devs);
  assert.equal(plain.mask.size, 0);
});
