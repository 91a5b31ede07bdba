/**
 * The pure parts of the workers: the MultipleHosts replication policy and
 * the usage file parser, checked against the rules of the original.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUsage, policyMin, replicateTo } from '../src/tracker/workers';
import type { DeviceInfo, DeviceMap } from '../src/tracker/workers/devices';

function dev(devid: number, hostid: number, over: Partial<DeviceInfo> = {}): DeviceInfo {
  return {
    devid, hostid, status: 'alive', hostStatus: 'alive', hostip: `127.0.0.${hostid}`, httpPort: 1,
    weight: 100, mbTotal: 1000, mbUsed: 100,
    observed: { devid, reachable: true, writable: true, mbTotal: 1000, mbUsed: 100, asof: 1 },
    ...over,
  };
}
const map = (...ds: DeviceInfo[]): DeviceMap => new Map(ds.map((d) => [d.devid, d]));

test('policyMin: MultipleHosts(N) overrides mindevcount, blank or other policies do not', () => {
  assert.equal(policyMin(null, 2), 2);
  assert.equal(policyMin('', 3), 3);
  assert.equal(policyMin('MultipleHosts()', 3), 3);
  assert.equal(policyMin('MultipleHosts(4)', 2), 4);
  assert.equal(policyMin(' MultipleHosts( 1 ) ', 2), 1);
  assert.equal(policyMin('MultipleDevices()', 2), 2);
});

test('a copy goes to another host first; same-host devices are only desperate', () => {
  const all = map(dev(1, 1), dev(2, 1), dev(3, 2), dev(4, 2));
  const a = replicateTo({ onDevs: [all.get(1)!], all, failed: new Set(), min: 2 });
  assert.equal(a.kind, 'copy');
  if (a.kind !== 'copy') return;
  assert.deepEqual(a.ideal.map((d) => d.devid).sort(), [3, 4]);
  assert.deepEqual(a.desperate.map((d) => d.devid), [2]);
});

test('happy with mindevcount copies on distinct hosts; too happy with more', () => {
  const all = map(dev(1, 1), dev(2, 1), dev(3, 2), dev(4, 2));
  const on = (...ids: number[]): DeviceInfo[] => ids.map((i) => all.get(i)!);
  assert.equal(replicateTo({ onDevs: on(1, 3), all, failed: new Set(), min: 2 }).kind, 'all_good');
  assert.equal(replicateTo({ onDevs: on(1, 2, 3), all, failed: new Set(), min: 2 }).kind, 'too_good');
  assert.equal(replicateTo({ onDevs: on(1), all, failed: new Set(), min: 1 }).kind, 'all_good');
});

test('one host only: copies on distinct devices of it are enough', () => {
  const all = map(dev(1, 1), dev(2, 1), dev(3, 1));
  const on1 = replicateTo({ onDevs: [all.get(1)!], all, failed: new Set(), min: 2 });
  assert.equal(on1.kind, 'copy');
  if (on1.kind === 'copy') assert.equal(on1.ideal.length, 2, 'no other host: same-host devices are ideal');
  assert.equal(replicateTo({ onDevs: [all.get(1)!, all.get(2)!], all, failed: new Set(), min: 2 }).kind, 'all_good');
});

test('readonly, drain, dead, unwritable, zero-weight and failed devices get no copy', () => {
  const all = map(
    dev(1, 1),
    dev(2, 2, { status: 'readonly' }),
    dev(3, 3, { status: 'drain' }),
    dev(4, 4, { status: 'dead' }),
    dev(5, 5, { observed: { devid: 5, reachable: true, writable: false, mbTotal: 1, mbUsed: 0, asof: 1 } }),
    dev(6, 6, { observed: undefined }),
    dev(7, 7, { hostStatus: 'down' }),
    dev(8, 8, { weight: 0 }),
    dev(9, 9),
  );
  assert.equal(replicateTo({ onDevs: [all.get(1)!], all, failed: new Set([9]), min: 2 }).kind, 'no_answer');
  const a = replicateTo({ onDevs: [all.get(1)!], all, failed: new Set(), min: 2 });
  assert.equal(a.kind, 'copy');
  if (a.kind === 'copy') assert.deepEqual(a.ideal.map((d) => d.devid), [9]);
});

test('copies on drain devices do not count toward mindevcount', () => {
  const all = map(dev(1, 1, { status: 'drain' }), dev(2, 2), dev(3, 3));
  // The replicator passes only shouldHaveFiles devices as onDevs; a drained copy is not one.
  const a = replicateTo({ onDevs: [all.get(2)!], all, failed: new Set(), min: 2 });
  assert.equal(a.kind, 'copy');
});

test('emptier devices are chosen more often', () => {
  const all = map(dev(1, 1), dev(2, 2, { mbUsed: 900 }), dev(3, 3, { mbUsed: 0 }));
  let first3 = 0;
  for (let i = 0; i < 2000; i++) {
    const a = replicateTo({ onDevs: [all.get(1)!], all, failed: new Set(), min: 2 });
    if (a.kind === 'copy' && a.ideal[0]!.devid === 3) first3++;
  }
  // 100% free against 10% free: dev3 should win the vast majority.
  assert.ok(first3 > 1500, `dev3 first ${first3} of 2000 times`);
});

test('parseUsage reads the original usage file format (KiB)', () => {
  const text = 'available: 83206864\ndevice: /dev/vda\ndisk: /var/mogdata/dev1\ntime: 1795614062\ntotal: 264212084\nuse: 22%\nused: 23184048\n';
  assert.deepEqual(parseUsage(text), { available: 83206864, total: 264212084, used: 23184048 });
  assert.equal(parseUsage('time: 1\n'), null);
  assert.equal(parseUsage('used: 1\ntotal: 0\n'), null);
});
