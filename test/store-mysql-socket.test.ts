// A MySQL server on the tracker's machine through its Unix socket:
// `mysql://user@localhost/db?socket=PATH`, and the original's DBI form with
// DBD::mysql's mysql_socket=PATH, reach the server without TCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { inCI } from './helpers/engines';
import { startMariadb } from './helpers/mariadb';
import { existsSync } from 'node:fs';
import { openStore } from '../src/store';
import { dsnFromDbi } from '../src/cli/mogilefsd';
import type { MysqlStore } from '../src/store/mysql';

const haveServer = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd'].some((p) => existsSync(p));
const skip = !haveServer && !inCI() ? 'MariaDB is not installed (apt-get install -y mariadb-server)' : false;

test('the store reaches MySQL through ?socket= (and DBI mysql_socket=), not TCP', { skip }, async () => {
  const server = await startMariadb();
  try {
    const admin = await mysql.createConnection({ uri: server.url });
    await admin.query('CREATE DATABASE sock');
    await admin.end();
    const dsn = dsnFromDbi(`DBI:mysql:sock;host=localhost;mysql_socket=${server.socket}`, 'root');
    assert.equal(dsn, `mysql://root@localhost:3306/sock?socket=${encodeURIComponent(server.socket)}`);
    const store = (await openStore({ dsn })) as MysqlStore;
    try {
      const { dmid } = await store.createDomain('d');
      const fid = await store.createTempfile({ dmid, dkey: 'k', classid: 0, devids: '1', createtime: 1 });
      await store.commitFile({ fid, dmid, dkey: 'k', length: 3, classid: 0, devids: [1] });
      assert.equal((await store.getFileByKey(dmid, 'k'))?.fid, fid);
      // A connection through the socket shows as host "localhost"; one over TCP as "127.0.0.1:<port>".
      const [row] = await (store as unknown as { mysql: { all<T>(sql: string): Promise<T[]> } }).mysql.all<{ host: string }>(
        'SELECT HOST AS host FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()',
      );
      assert.equal(row.host, 'localhost');
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
  }
});

test('a missing socket is the database being away; another missing file is not', async () => {
  const { isDbUnavailable } = await import('../src/store');
  const { readFile } = await import('node:fs/promises');
  const net = await import('node:net');
  const connectErr = await new Promise<unknown>((resolve) => net.connect('/nonexistent-mogfs/mysqld.sock').on('error', resolve));
  assert.equal(isDbUnavailable(connectErr), true);
  const fileErr = await readFile('/nonexistent-mogfs/file').catch((e: unknown) => e);
  assert.equal(isDbUnavailable(fileErr), false);
});
