/**
 * Run the same tests on both metadata engines. sqlite gets a fresh file in a
 * temp dir; mysql gets a fresh database on the server in MOGFS_TEST_MYSQL
 * (scripts/run-tests.js starts a private MariaDB and sets it). Without that
 * variable the mysql variant is skipped, or fails with CI=true.
 *
 *   forEachEngine((engine, env) => {
 *     test('...', async () => { const store = await env.open(); ... });
 *   });
 */
import { after, describe } from 'node:test';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { openStore } from '../../src/store';
import type { MetadataStore } from '../../src/store';

export type EngineName = 'sqlite' | 'mysql';
export const ENGINES: EngineName[] = ['sqlite', 'mysql'];

/** One fresh, empty database; every store opened on it is closed by drop(). */
export interface TestDatabase {
  engine: EngineName;
  /** What openStore()/`--db` take: `sqlite:PATH` or `mysql://root@127.0.0.1:PORT/NAME`. */
  dsn: string;
  /** Another store (init()ed) on this same database, e.g. a second tracker. */
  open(): Promise<MetadataStore>;
  /** For raw SQL in tests (mysql only): a connection to this database, closed by drop(). */
  sql(): Promise<mysql.Connection>;
  drop(): Promise<void>;
}

let counter = 0;

/** CI=true (or 1): a missing MySQL test server is a failure there, never a skip. */
export function inCI(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/** Why the mysql engine cannot run here, or null when it can. */
export function mysqlUnavailable(): string | null {
  if (process.env.MOGFS_TEST_MYSQL) return null;
  return 'MOGFS_TEST_MYSQL is not set: run the tests through `npm test` (it starts a private MariaDB), ' +
    'or start one with `node dist/test/helpers/mariadb.js start` and export MOGFS_TEST_MYSQL=<its url>';
}

/** The server URL from MOGFS_TEST_MYSQL with `db` as its database. */
function mysqlUrl(db: string | null): string {
  const u = new URL(process.env.MOGFS_TEST_MYSQL as string);
  u.pathname = db ? `/${db}` : '/';
  return u.toString();
}

async function rootConnection(): Promise<mysql.Connection> {
  return mysql.createConnection({ uri: mysqlUrl(null) });
}

export async function newDatabase(engine: EngineName): Promise<TestDatabase> {
  const stores: MetadataStore[] = [];
  const conns: mysql.Connection[] = [];
  const closeAll = async (): Promise<void> => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const c of conns.splice(0)) await c.end().catch(() => undefined);
  };
  if (engine === 'sqlite') {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-sqlite-'));
    const dsn = `sqlite:${path.join(dir, 'mogilefs.sqlite')}`;
    return {
      engine, dsn,
      async open() { const s = await openStore({ dsn }); stores.push(s); return s; },
      async sql() { throw new Error('sql() is for the mysql engine only'); },
      async drop() { await closeAll(); await fs.rm(dir, { recursive: true, force: true }); },
    };
  }
  const why = mysqlUnavailable();
  if (why) throw new Error(why);
  const name = `mogfs_t${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const root = await rootConnection();
  try {
    await root.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await root.end();
  }
  const dsn = mysqlUrl(name);
  return {
    engine, dsn,
    async open() { const s = await openStore({ dsn }); stores.push(s); return s; },
    async sql() {
      const c = await mysql.createConnection({ uri: dsn, multipleStatements: true });
      conns.push(c);
      return c;
    },
    async drop() {
      await closeAll();
      const r = await rootConnection();
      try {
        await r.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await r.end();
      }
    },
  };
}

/**
 * Runs raw SQL on a test database, as another program (the original
 * tracker, an operator) would: the rows a query returns, or one result for
 * any other statement.
 */
export async function rawSql(db: TestDatabase, sql: string): Promise<unknown[]> {
  if (db.engine === 'sqlite') {
    const conn = new Database(db.dsn.slice('sqlite:'.length));
    try {
      const st = conn.prepare(sql);
      return st.reader ? st.all() : [st.run()];
    } finally {
      conn.close();
    }
  }
  const c = await db.sql();
  const [rows] = await c.query(sql);
  return Array.isArray(rows) ? rows : [rows];
}

/** Per-engine environment handed to forEachEngine's body; everything it made is removed after the suite. */
export class EngineEnv {
  private readonly dbs: TestDatabase[] = [];
  constructor(readonly engine: EngineName) {}

  /** A fresh database. */
  async database(): Promise<TestDatabase> {
    const db = await newDatabase(this.engine);
    this.dbs.push(db);
    return db;
  }

  /** A store on a fresh database. */
  async open(): Promise<MetadataStore> {
    return (await this.database()).open();
  }

  async cleanup(): Promise<void> {
    for (const db of this.dbs.splice(0)) await db.drop();
  }
}

/**
 * Registers one describe() per engine. The mysql one is skipped (with the
 * reason) when no test server is configured, unless CI=true, where its tests
 * fail with that reason instead: CI must never silently skip MySQL.
 */
export function forEachEngine(body: (engine: EngineName, env: EngineEnv) => void): void {
  for (const engine of ENGINES) {
    const why = engine === 'mysql' ? mysqlUnavailable() : null;
    const skip = why !== null && !inCI() ? why : false;
    describe(engine, { skip }, () => {
      const env = new EngineEnv(engine);
      after(() => env.cleanup());
      body(engine, env);
    });
  }
}
