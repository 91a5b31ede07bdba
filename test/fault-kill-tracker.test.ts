/**
 * Two trackers on MariaDB under load, kill one: two mogilefsd processes and
 * two storage nodes on one database, two clients of 4 lanes each (the client
 * library with both trackers listed, one with the victim first, one with the
 * survivor first) storing and reading; after
 * 200 stores one tracker gets SIGKILL. Measured: failed operations as the
 * client sees them (the client sends to the other tracker; a create_close
 * cut off mid-request is sent again there), and that every stored file reads
 * back whole through the survivor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inCI, mysqlUnavailable, newDatabase } from './helpers/engines';
import type { TestDatabase } from './helpers/engines';
import { Processes, runLoad, startDbCluster, unreadable } from './helpers/dbfaults';
import type { DbCluster, LoadResult } from './helpers/dbfaults';
import { killHard } from './helpers/faults';

const KILL_AFTER = 200;
const TOTAL = 800;

const skip = mysqlUnavailable() !== null && !inCI() ? mysqlUnavailable() as string : false;

test('two trackers on MariaDB under load, kill -9 one: zero failed operations, every file readable', { skip, timeout: 240_000 }, async () => {
  const procs = new Processes();
  let db: TestDatabase | null = null;
  let c: DbCluster | null = null;
  try {
    db = await newDatabase('mysql');
    c = await startDbCluster(procs, db.dsn, 2);
    const cluster = c;
    const victim = cluster.trackers[0];
    let killing: Promise<void> | null = null;
    let killedAt = 0;
    // Client a lists the victim first, client b the survivor first (4 lanes each; each client pools connections per tracker).
    const a = cluster.client([0, 1], { ordered: true });
    const b = cluster.client([1, 0], { ordered: true });
    const loads: Array<{ prefix: string; r: Promise<LoadResult> }> = [];
    let total = 0;
    const onStored = (): void => {
      total++;
      if (total >= KILL_AFTER && !killing) {
        killedAt = Date.now();
        killing = killHard(victim.daemon);
      }
    };
    loads.push({ prefix: 'a', r: runLoad(a, 4, () => total >= TOTAL, onStored, 'a') });
    loads.push({ prefix: 'b', r: runLoad(b, 4, () => total >= TOTAL, onStored, 'b') });
    const results = await Promise.all(loads.map(async (l) => ({ prefix: l.prefix, r: await l.r })));
    await killing;
    assert.ok(killedAt > 0, 'the tracker was never killed');
    assert.notEqual(victim.daemon.child.signalCode, null);

    const failures = results.flatMap(({ r }) => r.failures);
    const stored = results.reduce((n, { r }) => n + r.stored.size, 0);
    const storedAfterKill = total - KILL_AFTER;
    console.log(`stores OK ${stored} (${storedAfterKill} after the kill), reads OK ${results.reduce((n, { r }) => n + r.reads, 0)}, ` +
      `failed ${failures.length}, slowest operation ${Math.max(...results.map(({ r }) => r.slowestMs))} ms`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} operations failed as the client saw them`);
    assert.equal(a.tracker.lastTracker, cluster.trackers[1].addr, 'client a should have ended on the survivor');

    const survivor = cluster.client([1]);
    const bad: string[] = [];
    for (const { prefix, r } of results) bad.push(...(await unreadable(survivor, r.stored, prefix)));
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} stored files unreadable through the surviving tracker`);
  } finally {
    await c?.close();
    await procs.stopAll();
    await db?.drop();
  }
});
