/**
 * Read replicas on real replication: two private MariaDB instances, the
 * master with a binary log, the replica following it (CHANGE MASTER TO ...;
 * START SLAVE), a tracker process and two storage nodes on the master, the
 * replica configured as the original does (slave_keys + slave_<key> =
 * "DSN|user|pass" through set_server_setting), its user allowed SELECT only.
 * Counted on the replica (USER_STATISTICS of that user): reads (get_paths, file_info, list_keys) go
 * there; no write ever does; a get_paths right after create_close finds the
 * file; with the replica's SQL thread stopped (lagging) or the replica
 * server down the master answers and no read fails; back in order, the
 * replica is read again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { startMariadb } from './helpers/mariadb';
import type { MariadbHandle } from './helpers/mariadb';
import { Processes, body, startDbCluster } from './helpers/dbfaults';
import type { DbCluster } from './helpers/dbfaults';
import { waitFor } from './helpers/multitracker';
import { MogileFSAdmin } from '../src/client';
import { mogadm } from './helpers/mogadm';
import { slavesOk } from '../src/store';
import { inCI, mysqlUnavailable, newDatabase } from './helpers/engines';
import type { TestDatabase } from './helpers/engines';

/** What the replica's read user (the tracker's) ran there: USER_STATISTICS (--userstat), which replication's own work does not touch. */
async function counters(uri: string): Promise<{ reads: number; writes: number }> {
  const c = await mysql.createConnection({ uri });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      "SELECT SELECT_COMMANDS, UPDATE_COMMANDS, ROWS_UPDATED FROM INFORMATION_SCHEMA.USER_STATISTICS WHERE USER = 'mogread'");
    const row = rows[0];
    return row ? { reads: Number(row.SELECT_COMMANDS), writes: Number(row.UPDATE_COMMANDS) + Number(row.ROWS_UPDATED) } : { reads: 0, writes: 0 };
  } finally {
    await c.end();
  }
}

test('read replicas: reads go to the replica, writes never; a lagging or stopped replica falls back to the master', { timeout: 240_000 }, async () => {
  const procs = new Processes();
  let master: MariadbHandle | null = null;
  let replica: MariadbHandle | null = null;
  let c: DbCluster | null = null;
  const admins: MogileFSAdmin[] = [];
  try {
    master = await startMariadb({ logBin: true, serverId: 1 });
    replica = await startMariadb({ serverId: 2, extraArgs: ['--userstat=1'] });
    const m = await mysql.createConnection({ uri: master.url });
    const r = await mysql.createConnection({ uri: replica.url });
    try {
      await m.query("CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'replpw'");
      await m.query("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'");
      const [st] = await m.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
      await r.query(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${master.port}, MASTER_USER='repl', MASTER_PASSWORD='replpw', ` +
        `MASTER_LOG_FILE='${String(st[0].File)}', MASTER_LOG_POS=${Number(st[0].Position)}, MASTER_USE_GTID=no`);
      await r.query('START SLAVE');
      // From here on the master's changes reach the replica: the database and the replica's read-only user too.
      await m.query('CREATE DATABASE mogfs');
      await m.query("CREATE USER 'mogread'@'127.0.0.1' IDENTIFIED BY 'readpw'");
      await m.query("GRANT SELECT ON mogfs.* TO 'mogread'@'127.0.0.1'");
      await m.query("GRANT SLAVE MONITOR ON *.* TO 'mogread'@'127.0.0.1'");
      await waitFor('the replica to have the database', async () => {
        const [dbs] = await r.query<mysql.RowDataPacket[]>("SHOW DATABASES LIKE 'mogfs'");
        return dbs.length === 1;
      });
    } finally {
      await m.end();
      await r.end();
    }

    c = await startDbCluster(procs, `${master.url}mogfs`, 1);
    const cl = c.client([0]);
    const admin = new MogileFSAdmin({ trackers: [c.trackers[0].addr] });
    admins.push(admin);
    for (let i = 0; i < 20; i++) await cl.storeBuffer(`pre/${i}`, body(i));

    const rep = replica;
    const writesBefore = (await counters(rep.url)).writes;
    await admin.setServerSetting('slave_dead_retry_timeout', 1);
    // Configured as an operator does with the stock tool's commands: mogadm slave add (MogileFS::Admin's settings).
    const t = ['--trackers', c.trackers[0].addr];
    const dsn = `DBI:mysql:database=mogfs;host=127.0.0.1;port=${rep.port}`;
    const added = await mogadm([...t, 'slave', 'add', 'r1', `--dsn=${dsn}`, '--username=mogread', '--password=wrong']);
    assert.equal(added.code, 0, added.stderr);
    assert.equal((await mogadm([...t, 'slave', 'add', 'r1', `--dsn=${dsn}`])).code, 1, 'a key added twice is refused');
    const fixed = await mogadm([...t, 'slave', 'modify', 'r1', '--password=readpw']);
    assert.equal(fixed.code, 0, fixed.stderr);
    const listed = await mogadm([...t, 'slave', 'list']);
    assert.equal(listed.stdout, `r1 --dsn=${dsn} --username=mogread --password=readpw\n`);
    assert.equal(await admin.serverSetting('slave_keys'), 'r1');
    assert.ok(Number(await admin.serverSetting('slave_version')) >= 3, 'set_server_setting bumps slave_version');

    /** Reads through the tracker; resolves to how many queries the replica ran meanwhile. */
    const readAll = async (n = 20): Promise<number> => {
      const before = (await counters(rep.url)).reads;
      for (let i = 0; i < n; i++) {
        assert.ok((await cl.getBuffer(`pre/${i % 20}`)).equals(body(i % 20)), `pre/${i % 20}`);
        assert.equal((await cl.fileInfo(`pre/${i % 20}`)).length, body(i % 20).length);
      }
      assert.equal((await cl.listKeys('pre/')).keys.length, 20);
      return (await counters(rep.url)).reads - before;
    };

    // Reads go to the replica: get_paths and file_info each at least one query there.
    const onReplica = await readAll();
    assert.ok(onReplica >= 40, `only ${onReplica} queries on the replica for 41 reads`);

    // A store then at once its paths: found (a miss on the replica is asked of the master).
    for (let i = 0; i < 30; i++) {
      await cl.storeBuffer(`fresh/${i}`, body(i));
      assert.ok((await cl.getBuffer(`fresh/${i}`)).equals(body(i)), `fresh/${i} right after its store`);
    }

    // The replica lags: its SQL thread stopped. After the next status check the master answers every read.
    const rc = await mysql.createConnection({ uri: replica.url });
    try {
      await rc.query('STOP SLAVE SQL_THREAD');
      await new Promise((res) => setTimeout(res, 2500));
      const whileStopped = await readAll();
      assert.ok(whileStopped <= 2, `${whileStopped} queries on a replica whose replication is stopped`);
      for (let i = 0; i < 10; i++) {
        await cl.storeBuffer(`lag/${i}`, body(i));
        assert.ok((await cl.getBuffer(`lag/${i}`)).equals(body(i)), `lag/${i}`);
      }
      await rc.query('START SLAVE SQL_THREAD');
    } finally {
      await rc.end();
    }
    await waitFor('the replica to be read again', async () => (await readAll(5)) >= 10, 20_000);

    // No write ever went to the replica.
    assert.equal((await counters(rep.url)).writes - writesBefore, 0, 'statements that write ran on the replica');

    // The replica's server goes away: reads fall back at once, and come back after it returns.
    await replica.stopServer();
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) assert.ok((await cl.getBuffer(`pre/${i}`)).equals(body(i)), `pre/${i} with the replica down`);
    assert.equal((await cl.listKeys('lag/')).keys.length, 10);
    const downMs = Date.now() - t0;
    assert.ok(downMs < 10_000, `reads with the replica down took ${downMs} ms`);
    await replica.startAgain();
    const writesRestarted = (await counters(rep.url)).writes; // the server's counters start again from 0
    await waitFor('the restarted replica to be read again', async () => (await readAll(5)) >= 10, 30_000);

    for (let i = 0; i < 5; i++) await cl.storeBuffer(`after/${i}`, body(i));
    assert.equal((await counters(rep.url)).writes - writesRestarted, 0, 'statements that write ran on the restarted replica');

    // mogadm slave delete: the tracker stops reading the replica once it has noticed (at once on the tracker asked).
    const deleted = await mogadm([...t, 'slave', 'delete', 'r1']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await mogadm([...t, 'slave', 'list'])).stdout, '');
    assert.equal(await readAll(5), 0, 'queries on a replica that was deleted');
  } finally {
    for (const a of admins) a.close();
    await c?.close();
    await procs.stopAll();
    await replica?.stop();
    await master?.stop();
  }
});

const noMysql = mysqlUnavailable() !== null && !inCI() ? mysqlUnavailable() as string : false;

test('no replica configured: once the (empty) list is read, slavesOk is the store itself, nothing in between', { skip: noMysql }, async () => {
  let db: TestDatabase | null = null;
  try {
    db = await newDatabase('mysql');
    const store = await db.open();
    assert.notEqual(slavesOk(store), store, 'before the list is read the replica reads decide');
    assert.equal(await slavesOk(store).getFileByKey(1, 'nothing'), null);
    assert.equal(slavesOk(store), store, 'no slave_keys: reads go straight to the store');
    // A slave_* change on this tracker is read again before the next read.
    await store.setSetting('slave_keys', 'r1');
    await store.setSetting('slave_r1', 'DBI:mysql:database=nowhere;host=127.0.0.1;port=1|u|p');
    assert.notEqual(slavesOk(store), store);
    assert.equal(await slavesOk(store).getFileByKey(1, 'nothing'), null, 'an unreachable replica: the master answers');
    assert.notEqual(slavesOk(store), store, 'a replica is configured');
  } finally {
    await db?.drop();
  }
});
