// Device I/O utilization, as the original's IOStatWatcher gathers it: the
// tracker keeps a `watch` open on each storage node's side channel, reports
// the figures in get_devices (mogadm check's I/O% column) and offers copies
// on idle devices first in get_paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import { startCluster } from './helpers/cluster';
import { mogadm } from './helpers/mogadm';
import { parseReports } from '../src/tracker/workers/iostat';
import { readCandidates } from '../src/tracker/select';
import type { Layout } from '../src/tracker/context';

test('watch reports are parsed whole, and an unfinished one waits for its end', () => {
  const { reports, rest } = parseReports('1\t12.50\n2\t-\r\n3 100\n.\n4\t7\n.\r\n5\t3');
  assert.deepEqual(reports.map((r) => [...r]), [[[1, 12.5], [3, 100]], [[4, 7]]]);
  assert.equal(rest, '5\t3');
  const more = parseReports(`${rest}\n.\n`);
  assert.deepEqual(more.reports.map((r) => [...r]), [[[5, 3]]]);
  assert.equal(more.rest, '');
});

test('get_paths order weighs a copy by 102 minus its device\'s utilization, else by the device weight', () => {
  const layout = {
    domains: [], classes: [],
    hosts: [1, 2].map((hostid) => ({ hostid, status: 'alive', http_port: 7500, http_get_port: null, hostname: `h${hostid}`, hostip: `10.0.0.${hostid}`, altip: null, altmask: null })),
    devices: [1, 2].map((devid) => ({ devid, hostid: devid, status: 'alive', weight: 100, mb_total: null, mb_used: null, mb_asof: null })),
  } as unknown as Layout;
  const at = Date.now();
  // Device 1 idle (weight 102), device 2 saturated (weight 2): a draw at 0.9 lands on device 1.
  const util = new Map([[1, { util: 0, at }], [2, { util: 100, at }]]);
  assert.deepEqual(readCandidates(layout, new Map(), [1, 2], () => 0.9, util).map((c) => c.dh.device.devid), [1, 2]);
  // The same draw with both at weight 100 (no reports, or stale ones) lands on device 2.
  assert.deepEqual(readCandidates(layout, new Map(), [1, 2], () => 0.9).map((c) => c.dh.device.devid), [2, 1]);
  const stale = new Map([[1, { util: 0, at: at - 60_000 }], [2, { util: 100, at: at - 60_000 }]]);
  assert.deepEqual(readCandidates(layout, new Map(), [1, 2], () => 0.9, stale).map((c) => c.dh.device.devid), [2, 1]);
});

/** Whether the kernel keeps I/O counters for the block device under `dir` (not so on tmpfs). */
async function hasBlockStats(dir: string): Promise<boolean> {
  const { dev } = await stat(dir);
  const major = ((dev >>> 8) & 0xfff) | Math.floor(dev / 2 ** 32) & 0xfffff000;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return stat(`/sys/dev/block/${major}:${minor}/stat`).then(() => true, () => false);
}

test('the tracker reports each device\'s utilization from its node\'s side channel', async (t) => {
  if (!(await hasBlockStats(os.tmpdir()))) {
    t.skip(`${os.tmpdir()} is on no block device the kernel counts I/O for (tmpfs?): nodes report no utilization there`);
    return;
  }
  const c = await startCluster();
  try {
    await c.waitFor('every device\'s utilization in get_devices', async () => {
      const devs = await c.admin.getDevices();
      return devs.length === 4 && devs.every((d) => typeof d.utilization === 'number' && d.utilization >= 0 && d.utilization <= 100);
    }, 15_000);
    const check = await mogadm(['--trackers', c.trackers[0], 'check']);
    assert.equal(check.code, 0, check.stderr);
    const rows = check.stdout.split('\n').filter((l) => /^\s+\[\s*\d+\] dev\d/.test(l));
    assert.equal(rows.length, 4, check.stdout);
    for (const r of rows) assert.match(r, /\s\d+\.\d\s*$/, `no I/O% figure in "${r}"`);
  } finally {
    await c.stop();
  }
});
