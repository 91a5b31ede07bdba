/**
 * A second process holding the database's write lock (another tracker on the
 * same SQLite file, or a long MySQL transaction) must not stop this process's
 * event loop: the write waits asynchronously and completes once the lock is
 * let go. On SQLite, a lock held past the wait budget fails with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import type { EngineEnv, EngineName, TestDatabase } from './helpers/engines';
import { SqliteStore } from '../src/store/sqlite';

interface LockHolder {
  release(): Promise<void>;
}

/** Another process, as a second tracker would be, holding SQLite's write lock until released. */
async function holdSqliteLock(file: string): Promise<LockHolder> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.pragma('journal_mode = WAL');
    db.prepare('BEGIN IMMEDIATE').run();
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => { db.prepare('COMMIT').run(); db.close(); process.stdout.write('released\\n'); process.exit(0); });
  `;
  const root = path.resolve(__dirname, '..', '..');
  const child = spawn(process.execPath, ['-e', script, file], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const seen = (what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (out.includes(what)) resolve();
      };
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        check();
      });
      child.once('exit', (code) => (out.includes(what) ? resolve() : reject(new Error(`lock holder exited ${code} before "${what}"`))));
      check();
    });
  await seen('locked');
  return {
    release: async () => {
      const done = seen('released');
      child.stdin.write('go\n');
      await done;
    },
  };
}

/** A second connection holding the table the write needs. */
async function holdMysqlLock(db: TestDatabase): Promise<LockHolder> {
  const conn = await db.sql();
  await conn.query('LOCK TABLES domain WRITE, server_settings WRITE');
  return { release: async () => void (await conn.query('UNLOCK TABLES')) };
}

async function holdLock(engine: EngineName, db: TestDatabase): Promise<LockHolder> {
  return engine === 'sqlite' ? holdSqliteLock(db.dsn.slice('sqlite:'.length)) : holdMysqlLock(db);
}

/** Resolves true if `rounds` timer callbacks ran, one after another, before `p` settled. */
async function loopRunsWhile(p: Promise<unknown>, rounds: number): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < rounds; i++) {
    await new Promise((r) => setTimeout(r, 5));
    if (settled) return false;
  }
  return true;
}

forEachEngine((engine, env: EngineEnv) => {
  test('writes that wait for another process\'s lock leave the event loop running, then complete', async () => {
    const db = await env.database();
    const store = await db.open();
    const holder = await holdLock(engine, db);
    let released = false;
    try {
      const domain = store.createDomain('waited');
      const setting = store.setSetting('waited', 'yes');
      domain.catch(() => undefined);
      setting.catch(() => undefined);
      assert.ok(await loopRunsWhile(Promise.all([domain, setting]), 10), 'the event loop stopped while the writes waited for the lock');
      await holder.release();
      released = true;
      assert.equal((await domain).namespace, 'waited');
      await setting;
    } finally {
      if (!released) await holder.release();
    }
    assert.ok((await store.listDomains()).some((d) => d.namespace === 'waited'));
    assert.equal((await store.getSettings()).waited, 'yes');
  });

  if (engine === 'sqlite') {
    test('a lock held past the wait budget fails the write with a clear error, and nothing half-done', async () => {
      const db = await env.database();
      await (await db.open()).listDomains(); // the schema exists
      const file = db.dsn.slice('sqlite:'.length);
      const store = new SqliteStore(file, { busyWaitMs: 300 });
      await store.init();
      const holder = await holdLock(engine, db);
      try {
        await assert.rejects(store.createDomain('never'), /locked by another process .*300 ms/);
      } finally {
        await holder.release();
      }
      assert.deepEqual((await store.listDomains()).map((d) => d.namespace), []);
      assert.equal((await store.createDomain('later')).namespace, 'later');
      await store.close();
    });
  }
});
