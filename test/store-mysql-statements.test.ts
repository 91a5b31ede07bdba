// The MySQL engine keeps the server's prepared statements bounded: thousands
// of requests of varied shapes (page sizes, IN-list lengths, multi-row
// inserts) through a real tracker and client must not each leave a prepared
// statement on the server, whose limit (max_prepared_stmt_count) is shared by
// every client of that server. The test runs its own MariaDB so that the
// server-wide Prepared_stmt_count counts this test's connections only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { inCI } from './helpers/engines';
import { startMariadb } from './helpers/mariadb';
import type { MariadbHandle } from './helpers/mariadb';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { listDir, listFiles } from '../src/client';
import type { MetadataStore } from '../src/store';

const haveServer = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd'].some((p) => existsSync(p));
const skip = !haveServer && !inCI() ? 'MariaDB is not installed (apt-get install -y mariadb-server)' : false;

/** Prepared statements the server may hold for this test's connections (two stores' pools) at the end. */
const BOUND = 200;
/** New ones the varied requests may add: each statement text first used then, on the connections using it. */
const GROWTH = 100;

describe('mysql: prepared statements stay bounded', { skip }, () => {
  let server: MariadbHandle;
  let cluster: Cluster;
  let other: MetadataStore;
  let admin: mysql.Connection;

  before(async () => {
    server = await startMariadb();
    // The cluster helper makes its database on the server MOGFS_TEST_MYSQL names.
    process.env.MOGFS_TEST_MYSQL = server.url;
    cluster = await startCluster({ engine: 'mysql' });
    other = await cluster.db.open();
    admin = await mysql.createConnection({ uri: server.url });
  });
  after(async () => {
    await admin?.end();
    await cluster?.stop();
    await server?.stop();
  });

  /** Through the text protocol, so asking prepares nothing. */
  const prepared = async (): Promise<number> => {
    const [rows] = await admin.query("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'");
    return Number((rows as Array<{ Value: string }>)[0].Value);
  };

  test('thousands of varied requests leave Prepared_stmt_count under the bound', async (t) => {
    const { client } = cluster;
    // Stored one after the other: each pooled connection holds its own copy of the statements it ran,
    // so concurrent requests (more connections) raise the total without any variety in the requests.
    const keys = Array.from({ length: 40 }, (_, i) => `d${i % 3}/k${i}`);
    for (const k of keys) await client.storeBuffer(k, Buffer.from(k));
    const start = await prepared();

    let requests = 0;
    // Clients pick the page size: every size from 1 to 1000.
    for (let n = 1; n <= 1000; n++, requests++) await client.listKeys('', { limit: n });
    // Our listing with attributes: page sizes, and so IN lists of every length up to the number of keys.
    for (let n = 1; n <= 1000; n++, requests++) await listFiles(client, '', { limit: n });
    for (let n = 1; n <= 200; n++, requests++) await listDir(client, '', { limit: n });
    // IN lists of every length from 1 to 300 (keys that exist and keys that do not).
    const dmid = (await other.listDomains()).find((d) => d.namespace === 'default')!.dmid;
    for (let n = 1; n <= 300; n++, requests++) {
      await other.getFilesWithAttrs(dmid, Array.from({ length: n }, (_, i) => keys[i] ?? `none/${i}`));
    }
    // Multi-row inserts and IN lists of every length from 1 to 60: a dead device's fids
    // reaped in batches (queued for replication, file_on rows dropped), then claimed in batches.
    const sql = await cluster.db.sql();
    const fake = Array.from({ length: 60 * 61 / 2 }, (_, i) => `(${1_000_000 + i}, 99)`);
    await sql.query(`INSERT INTO file_on (fid, devid) VALUES ${fake.join(', ')}`);
    const later = 2_000_000_000;
    for (let n = 1; n <= 60; n++, requests++) assert.equal((await other.reapDeviceFids(99, n, later)).length, n);
    for (let n = 1; n <= 60; n++, requests++) {
      const jobs = await other.claimReplicateJobs(later, n, 60);
      assert.equal(jobs.length, n);
    }
    for (let n = 1; n <= 60; n++, requests++) await other.listFidsOnDevice(1, n);

    const end = await prepared();
    assert.ok(requests > 2500, `${requests} requests`);
    const says = `Prepared_stmt_count went from ${start} to ${end} after ${requests} requests`;
    t.diagnostic(says);
    assert.ok(end - start < GROWTH, `${says}: more than ${GROWTH} new`);
    assert.ok(end < BOUND, `${says} (bound ${BOUND})`);
  });
});
