/**
 * The litmus WebDAV suite (all five groups: basic, copymove, props, locks,
 * http) against `mogfs dav` on both engines: zero failures and zero warnings.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { dav, stopAllDav } from './helpers/dav';
import type { Dav } from './helpers/dav';
import { sh, suite } from './helpers/mount';

forEachEngine((engine) => {
  let c: Cluster;
  let d: Dav;
  before(async () => {
    c = await startCluster({ engine });
    d = await dav(c.trackers, { domain: 'default' });
  });
  after(async () => {
    await stopAllDav();
    await c?.stop();
  });

  test('litmus: every group passes with no failures and no warnings', async () => {
    const logs = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-litmus-'));
    try {
      const r = await sh('bash', [await suite('litmus-run.sh'), d.url], {
        allowFail: true, timeoutMs: 900_000, env: { ...process.env, LITMUS_LOGDIR: logs, LITMUS_SHOW_FAILS: '20' },
      });
      const groups = [...r.stdout.matchAll(/^litmus (\w+): passed=(\d+) failed=(\d+) skipped=(\d+) warnings=(\d+) status=(\w+)/gm)];
      assert.deepEqual(groups.map((g) => g[1]), ['basic', 'copymove', 'props', 'locks', 'http'], r.stdout + r.stderr);
      for (const g of groups) {
        assert.equal(g[3], '0', `${g[1]} failed:\n${r.stdout}\n${d.log()}`);
        assert.equal(g[5], '0', `${g[1]} warned:\n${r.stdout}`);
        assert.equal(g[4], '0', `${g[1]} skipped tests:\n${r.stdout}`);
        assert.ok(Number(g[2]) > 0, r.stdout);
      }
      assert.match(r.stdout, /result=PASS/);
      assert.equal(r.code, 0);
    } finally {
      await fs.rm(logs, { recursive: true, force: true });
    }
  });
});
