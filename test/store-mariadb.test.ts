// The private-MariaDB test helper, used as scripts/run-tests.js uses it: as a
// script that starts a detached server and later stops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { inCI } from './helpers/engines';
import { alive } from './helpers/mariadb';

const run = promisify(execFile);
const script = path.resolve(__dirname, 'helpers', 'mariadb.js');
const haveServer = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd'].some((p) => existsSync(p));
const skip = !haveServer && !inCI() ? 'MariaDB is not installed (apt-get install -y mariadb-server)' : false;

test('mariadb.js start leaves a private server running; stop removes it', { skip }, async () => {
  const { stdout } = await run(process.execPath, [script, 'start'], { timeout: 90_000 });
  const info = JSON.parse(stdout.trim()) as { url: string; pid: number; datadir: string };
  try {
    assert.match(info.url, /^mysql:\/\/root@127\.0\.0\.1:\d+\/$/);
    assert.notEqual(new URL(info.url).port, '3306', 'never the system instance port');
    assert.ok(alive(info.pid));
    assert.ok(existsSync(path.join(info.datadir, 'mysqld.sock')), 'socket inside the datadir');
    const c = await mysql.createConnection({ uri: info.url });
    try {
      const [rows] = await c.query('SELECT @@datadir AS d, @@port AS p');
      const r = (rows as Array<{ d: string; p: number }>)[0];
      assert.ok(r.d.startsWith(info.datadir), `server datadir ${r.d}`);
      assert.equal(String(r.p), new URL(info.url).port);
      await c.query('CREATE DATABASE callers_may_create');
    } finally {
      await c.end();
    }
  } finally {
    await run(process.execPath, [script, 'stop', info.datadir], { timeout: 60_000 });
  }
  assert.equal(alive(info.pid), false);
  assert.equal(existsSync(info.datadir), false);
});
