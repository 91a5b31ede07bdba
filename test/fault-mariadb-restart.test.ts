/**
 * Restart MariaDB under load: a private MariaDB (own datadir and port), a
 * tracker and two storage nodes as processes on it, 6 clients storing and
 * reading; after 150 stores MariaDB is stopped (SIGTERM, and in a second run
 * SIGKILL), left down 3 s, and started
 * again on the same datadir and port. Measured: the tracker process stays up;
 * every failed operation is an `ERR db` reply (never a hang, never another
 * error); the tracker serves again by itself once MariaDB is back; every
 * store that answered OK, before, during or after, reads back whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { startMariadb } from './helpers/mariadb';
import type { MariadbHandle } from './helpers/mariadb';
import { Processes, runLoad, startDbCluster, unreadable } from './helpers/dbfaults';
import type { DbCluster } from './helpers/dbfaults';
import { waitFor } from './helpers/multitracker';

const RESTART_AFTER = 150;
const DOWN_MS = 3000;

for (const hard of [false, true]) test(`restart MariaDB under load (${hard ? 'SIGKILL' : 'SIGTERM'}): the tracker stays up, answers ERR db meanwhile, recovers, loses no acknowledged write`, { timeout: 240_000 }, async () => {
  const procs = new Processes();
  let m: MariadbHandle | null = null;
  let c: DbCluster | null = null;
  try {
    m = await startMariadb();
    const root = await mysql.createConnection({ uri: m.url });
    await root.query('CREATE DATABASE mogfs');
    await root.end();
    c = await startDbCluster(procs, `${m.url}mogfs`, 1);
    const cl = c.client([0], { timeoutMs: 15_000 });
    const tracker = c.trackers[0].daemon;
    const db = m;

    let restart: Promise<void> | null = null;
    let downAt = 0;
    let upAt = 0;
    let storedAfterUp = 0;
    const result = await runLoad(cl, 6, (r) => upAt > 0 && storedAfterUp >= 150 || r.stored.size > 2000, (n) => {
      if (n >= RESTART_AFTER && !restart) {
        restart = (async () => {
          downAt = Date.now();
          await db.stopServer({ hard });
          await new Promise((res) => setTimeout(res, DOWN_MS));
          await db.startAgain();
          upAt = Date.now();
        })();
      }
      if (upAt > 0) storedAfterUp++;
    });
    await restart;
    assert.ok(downAt > 0 && upAt > 0, 'MariaDB was never restarted');

    assert.equal(tracker.child.exitCode, null, `the tracker exited: ${tracker.stderr().slice(-2000)}`);
    assert.equal(tracker.child.signalCode, null);
    const byCode = new Map<string, number>();
    for (const f of result.failures) byCode.set(f.code, (byCode.get(f.code) ?? 0) + 1);
    console.log(`stores OK ${result.stored.size}, reads OK ${result.reads}, failed ${result.failures.length} ${JSON.stringify(Object.fromEntries(byCode))}, ` +
      `MariaDB down ${upAt - downAt} ms, slowest operation ${result.slowestMs} ms`);
    // Failures only while the database was away (and the moment after), and only as ERR db.
    const odd = result.failures.filter((f) => f.code !== 'db');
    assert.deepEqual(odd.slice(0, 5), [], `failures other than ERR db: ${odd.length}`);
    assert.ok(result.failures.length > 0, 'no operation failed: was MariaDB really down under load?');
    const late = result.failures.filter((f) => f.at > upAt + 5000);
    assert.deepEqual(late.slice(0, 5), [], 'operations still failed 5 s after MariaDB was back');
    assert.ok(result.slowestMs < 15_000, `an operation took ${result.slowestMs} ms`);

    // Every acknowledged store is there, whole.
    await waitFor('a read through the tracker', async () => (await unreadable(cl, [...result.stored].slice(0, 1))).length === 0, 20_000);
    const bad = await unreadable(cl, result.stored);
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${result.stored.size} acknowledged stores are unreadable`);
  } finally {
    await c?.close();
    await procs.stopAll();
    await m?.stop();
  }
});
