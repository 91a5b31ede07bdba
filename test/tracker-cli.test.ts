/**
 * mogilefsd as a real process: binds, prints its address, answers, and
 * stops cleanly on SIGTERM; bad flags give a message and exit code 1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dsnFromDbi, parseListen } from '../src/cli/mogilefsd';
import { mysqlUrlFromDbi } from '../src/store/mysql/dbi';
import { LineClient } from './helpers/tracker';

const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'mogilefsd.js');

function run(args: string[]): { child: ChildProcess; stdout: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MOGFS_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const stdout = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out);
    });
    child.on('exit', (code) => reject(new Error(`mogilefsd exited (${code}) before printing: ${err}`)));
  });
  stdout.catch(() => undefined);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  Object.defineProperty(child, 'stderrText', { get: () => err });
  return { child, stdout, exit };
}

describe('mogilefsd process', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-trkcli-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('starts, answers, stops on SIGTERM', async () => {
    const p = run(['--listen', '127.0.0.1:0', '--db', `sqlite:${path.join(dir, 'db.sqlite')}`]);
    const line = await p.stdout;
    const m = /listening 127\.0\.0\.1:(\d+)/.exec(line);
    assert.ok(m, line);
    const c = await LineClient.connect(Number(m[1]));
    assert.equal(await c.send('create_domain domain=cli'), 'OK domain=cli');
    c.close();
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });

  test('a bad --listen or a missing --db is an error with exit code 1', async () => {
    const a = run(['--listen', 'nonsense', '--db', `sqlite:${path.join(dir, 'x.sqlite')}`]);
    assert.equal(await a.exit, 1);
    const b = run(['--listen', '127.0.0.1:0']);
    assert.equal(await b.exit, 1);
    assert.match((b.child as unknown as { stderrText: string }).stderrText, /no database given/);
  });

  test('flag helpers: listen addresses and the original DBI DSNs', () => {
    assert.deepEqual(parseListen('0.0.0.0:7001'), { host: '0.0.0.0', port: 7001 });
    assert.deepEqual(parseListen('7002'), { host: '127.0.0.1', port: 7002 });
    assert.throws(() => parseListen('host:port'), /HOST:PORT/);
    assert.equal(dsnFromDbi('DBI:mysql:mogilefs:host=db1;port=3307', 'mogile', 'p@ss'), 'mysql://mogile:p%40ss@db1:3307/mogilefs');
    assert.equal(dsnFromDbi('DBI:SQLite:dbname=/var/lib/mogile.db'), 'sqlite:/var/lib/mogile.db');
    assert.equal(dsnFromDbi('DBI:mysql:database=mogilefs;mysql_socket=/run/mysqld/mysqld.sock', 'mogile'),
      'mysql://mogile@127.0.0.1:3306/mogilefs?socket=%2Frun%2Fmysqld%2Fmysqld.sock');
    assert.throws(() => dsnFromDbi('DBI:Pg:dbname=x'), /not a DBI:mysql/);
  });

  test('DBI DSNs as DBD::mysql reads them: no host or localhost is the server\'s Unix socket when there is one', () => {
    const sock = path.join(os.tmpdir(), `mogfs-fake-${process.pid}.sock`);
    writeFileSync(sock, '');
    try {
      const socket = `?socket=${encodeURIComponent(sock)}`;
      const url = (dsn: string, sockets: string[]): string | undefined => mysqlUrlFromDbi(dsn, 'mogile', undefined, sockets)?.url;
      assert.equal(url('DBI:mysql:mogilefs', ['/nonexistent/a.sock', sock]), `mysql://mogile@127.0.0.1:3306/mogilefs${socket}`);
      assert.equal(url('DBI:mysql:mogilefs;host=localhost', [sock]), `mysql://mogile@localhost:3306/mogilefs${socket}`);
      assert.equal(url('DBI:mysql:mogilefs;host=127.0.0.1', [sock]), 'mysql://mogile@127.0.0.1:3306/mogilefs');
      assert.equal(url('DBI:mysql:mogilefs;host=db1;port=3307', [sock]), 'mysql://mogile@db1:3307/mogilefs');
      // No socket where the client library looks: TCP to this machine, where DBD::mysql would fail.
      assert.equal(url('DBI:mysql:mogilefs;host=localhost', ['/nonexistent/b.sock']), 'mysql://mogile@localhost:3306/mogilefs');
      assert.equal(url('DBI:mysql:mogilefs', ['/nonexistent/c.sock']), 'mysql://mogile@127.0.0.1:3306/mogilefs');
    } finally {
      rmSync(sock, { force: true });
    }
  });
});
