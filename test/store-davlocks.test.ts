// mogfs_dav_lock on both engines: conflicts by scope and depth, expiry,
// refresh, release, and two stores (two trackers) racing for one path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from './helpers/engines';
import type { DavLockRow } from '../src/store';

let n = 0;
function lock(path: string, over: Partial<DavLockRow> = {}): DavLockRow {
  return { token: `opaquelocktoken:t${++n}`, path, depth: 0, exclusive: true, owner: '<D:href>me</D:href>', user: 'alice', timeoutSec: 60, expires: Date.now() + 60_000, ...over };
}

forEachEngine((engine, env) => {
  test('an exclusive lock excludes its path, and at depth infinity everything below; shared locks coexist', async () => {
    const s = await env.open();
    const a = lock('/d/a', { depth: -1 });
    assert.equal(await s.davLocks.acquire(a), null);
    assert.equal((await s.davLocks.acquire(lock('/d/a')))?.token, a.token);
    assert.equal((await s.davLocks.acquire(lock('/d/a/b/c', { exclusive: false })))?.token, a.token);
    // A sibling with a common name prefix is not below /d/a.
    assert.equal(await s.davLocks.acquire(lock('/d/ab')), null);
    // A depth-infinity lock on the parent conflicts with the lock inside it.
    assert.equal((await s.davLocks.acquire(lock('/d', { depth: -1 })))?.token, a.token);
    assert.equal(await s.davLocks.acquire(lock('/d', { depth: 0 })), null);
    const sh1 = lock('/s', { exclusive: false });
    const sh2 = lock('/s', { exclusive: false });
    assert.equal(await s.davLocks.acquire(sh1), null);
    assert.equal(await s.davLocks.acquire(sh2), null);
    assert.ok(await s.davLocks.acquire(lock('/s')));
    const covering = await s.davLocks.locks('/d/a/x', false);
    assert.deepEqual(covering.map((l) => l.token), [a.token]);
    assert.equal(covering[0].owner, '<D:href>me</D:href>');
    assert.equal(covering[0].user, 'alice');
    assert.equal((await s.davLocks.locks('/d', true)).length, 3);
    assert.equal(await s.davLocks.release(a.token), true);
    assert.equal(await s.davLocks.release(a.token), false);
    assert.equal(await s.davLocks.acquire(lock('/d/a')), null);
  });

  test('expired locks neither show nor conflict; refresh extends a live one only', async () => {
    const s = await env.open();
    const old = lock('/e', { expires: Date.now() - 1 });
    assert.equal(await s.davLocks.acquire(old), null);
    assert.deepEqual(await s.davLocks.locks('/e', false), []);
    assert.equal(await s.davLocks.acquire(lock('/e')), null);
    assert.equal(await s.davLocks.refresh(old.token, 60), null);
    const live = lock('/f', { timeoutSec: 5, expires: Date.now() + 5000 });
    await s.davLocks.acquire(live);
    const r = await s.davLocks.refresh(live.token, 600);
    assert.equal(r?.timeoutSec, 600);
    assert.ok((r?.expires ?? 0) > Date.now() + 500_000);
  });

  // SQLite serves one tracker per file, so there the race is between requests to one tracker.
  test('requests racing for one path (on MySQL from two trackers): exactly one gets it', async () => {
    const db = await env.database();
    const s1 = await db.open();
    const s2 = engine === 'mysql' ? await db.open() : s1;
    for (let round = 0; round < 10; round++) {
      const path = `/race/${round}`;
      const results = await Promise.all([s1, s2, s1, s2, s2].map((s) => s.davLocks.acquire(lock(path))));
      assert.equal(results.filter((r) => r === null).length, 1, `round ${round}: ${JSON.stringify(results)}`);
    }
  });
});
