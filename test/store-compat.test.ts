// Our MySQL engine on a database made by the original MogileFS (schema 15,
// dkey VARCHAR(255) in latin1 tables; the original's DBD::mysql connection
// is utf8, so the server stores a key's text converted to latin1):
// init() leaves it alone, keeps to 255-byte keys, and keys travel as the
// original's connection sends them.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inCI, mysqlUnavailable, newDatabase, TestDatabase } from './helpers/engines';
import mysql from 'mysql2/promise';
import { isMogError } from '../src/protocol';
import { openStore } from '../src/store';
import type { MetadataStore } from '../src/store';
import { KeySql } from '../src/store/mysql/keysql';
import { MogileFS } from '../src/client';
import { startTestTracker } from './helpers/tracker';

/** The original's tables as its Store.pm / Store/MySQL.pm create them at schema_version 15. */
const ORIGINAL_DDL = `
CREATE TABLE domain (dmid SMALLINT UNSIGNED NOT NULL PRIMARY KEY, namespace VARCHAR(255), UNIQUE (namespace)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE class (dmid SMALLINT UNSIGNED NOT NULL, classid TINYINT UNSIGNED NOT NULL, PRIMARY KEY (dmid,classid),
  classname VARCHAR(50), UNIQUE (dmid,classname), mindevcount TINYINT UNSIGNED NOT NULL, replpolicy VARCHAR(255),
  hashtype TINYINT UNSIGNED) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file (fid BIGINT UNSIGNED NOT NULL, PRIMARY KEY (fid), dmid SMALLINT UNSIGNED NOT NULL,
  dkey VARCHAR(255) BINARY, UNIQUE dkey (dmid, dkey), length BIGINT UNSIGNED, classid TINYINT UNSIGNED NOT NULL,
  devcount TINYINT UNSIGNED NOT NULL, INDEX devcount (dmid,classid,devcount)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE tempfile (fid BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, PRIMARY KEY (fid), createtime INT UNSIGNED NOT NULL,
  classid TINYINT UNSIGNED NOT NULL, dmid SMALLINT UNSIGNED NOT NULL, dkey VARCHAR(255) BINARY, devids VARCHAR(60),
  INDEX ndx_createtime (createtime)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_to_delete (fid BIGINT UNSIGNED NOT NULL, PRIMARY KEY (fid)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE unreachable_fids (fid BIGINT UNSIGNED NOT NULL, lastupdate INT UNSIGNED NOT NULL, PRIMARY KEY (fid),
  INDEX (lastupdate)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_on (fid BIGINT UNSIGNED NOT NULL, devid MEDIUMINT UNSIGNED NOT NULL, PRIMARY KEY (fid, devid),
  INDEX (devid)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_on_corrupt (fid BIGINT UNSIGNED NOT NULL, devid MEDIUMINT UNSIGNED NOT NULL,
  PRIMARY KEY (fid, devid)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE host (hostid MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY, status ENUM('alive','dead','down'),
  http_port MEDIUMINT UNSIGNED DEFAULT 7500, http_get_port MEDIUMINT UNSIGNED, hostname VARCHAR(40), hostip VARCHAR(15),
  altip VARCHAR(15), altmask VARCHAR(18), UNIQUE (hostname), UNIQUE (hostip), UNIQUE (altip)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE device (devid MEDIUMINT UNSIGNED NOT NULL, hostid MEDIUMINT UNSIGNED NOT NULL,
  status ENUM('alive','dead','down','readonly','drain'), weight MEDIUMINT DEFAULT 100, mb_total INT UNSIGNED,
  mb_used INT UNSIGNED, mb_asof INT UNSIGNED, PRIMARY KEY (devid), INDEX (status)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE server_settings (field VARCHAR(50) PRIMARY KEY, value TEXT) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_to_replicate (fid BIGINT UNSIGNED NOT NULL PRIMARY KEY, nexttry INT UNSIGNED NOT NULL, INDEX (nexttry),
  fromdevid INT UNSIGNED, failcount TINYINT UNSIGNED NOT NULL DEFAULT 0, flags SMALLINT UNSIGNED NOT NULL DEFAULT 0)
  ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_to_delete_later (fid BIGINT UNSIGNED NOT NULL PRIMARY KEY, delafter INT UNSIGNED NOT NULL,
  INDEX (delafter)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE fsck_log (logid INT UNSIGNED NOT NULL AUTO_INCREMENT, PRIMARY KEY (logid), utime INT UNSIGNED NOT NULL,
  fid BIGINT UNSIGNED NULL, evcode CHAR(4), devid MEDIUMINT UNSIGNED, INDEX(utime)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_to_queue (fid BIGINT UNSIGNED NOT NULL, devid INT UNSIGNED, type TINYINT UNSIGNED NOT NULL,
  nexttry INT UNSIGNED NOT NULL, failcount TINYINT UNSIGNED NOT NULL default '0', flags SMALLINT UNSIGNED NOT NULL default '0',
  arg TEXT, PRIMARY KEY (fid, type), INDEX type_nexttry (type,nexttry)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_to_delete2 (fid BIGINT UNSIGNED NOT NULL PRIMARY KEY, nexttry INT UNSIGNED NOT NULL,
  failcount TINYINT UNSIGNED NOT NULL default '0', INDEX nexttry (nexttry)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE checksum (fid BIGINT UNSIGNED NOT NULL PRIMARY KEY, hashtype TINYINT UNSIGNED NOT NULL,
  checksum VARBINARY(64) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=latin1;
`;

/** The key's text as a latin1 column holds it (every key here is within ISO-8859-1), in hex. */
const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
const KEY = 'fotos/été.jpg';

/** A connection as the original's (DBD::mysql with the client library's utf8): it sends text, the server converts it. */
async function originalConnection(dsn: string): Promise<mysql.Connection> {
  return mysql.createConnection({ uri: dsn, charset: 'utf8', multipleStatements: true });
}

const why = mysqlUnavailable();
describe('mysql: a database made by the original MogileFS', { skip: why !== null && !inCI() ? why : false }, () => {
  let db: TestDatabase;
  after(async () => { await db?.drop(); });

  test('init() keeps its schema and data, and keys stay within 255 bytes', async () => {
    db = await newDatabase('mysql');
    const sql = await db.sql();
    await sql.query(ORIGINAL_DDL);
    // Rows as the original writes them: text over its utf8 connection, stored converted to latin1.
    const orig = await originalConnection(db.dsn);
    await orig.query(`
      INSERT INTO domain VALUES (1, 'photos');
      INSERT INTO class (dmid, classid, classname, mindevcount) VALUES (1, 1, 'thumbs', 1);
      INSERT INTO host VALUES (1, 'alive', 7500, NULL, 'sto1', '127.0.0.1', NULL, NULL);
      INSERT INTO device (devid, hostid, status) VALUES (1, 1, 'alive'), (2, 1, 'alive');
      INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (7, 1, 1, 1, '${KEY}', '1,2');
      DELETE FROM tempfile WHERE fid = 7;
      INSERT INTO file VALUES (7, 1, '${KEY}', 100, 1, 2);
      INSERT INTO file_on VALUES (7, 1), (7, 2);
      INSERT INTO checksum VALUES (7, 1, X'00112233445566778899aabbccddeeff');
      INSERT INTO server_settings VALUES ('schema_version', '15');
    `);
    await orig.end();
    const dkeyColumn = async () => {
      const [rows] = await sql.query(
        `SELECT COLUMN_TYPE, COLLATION_NAME FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('file', 'tempfile') AND COLUMN_NAME = 'dkey' ORDER BY TABLE_NAME`,
      );
      return rows;
    };
    const before = await dkeyColumn();

    await (await openStore({ dsn: db.dsn })).close();
    const s = await db.open();
    await s.init();
    assert.equal(s.maxKeyLength, 255);
    assert.deepEqual(await dkeyColumn(), before, 'dkey columns unchanged');
    assert.deepEqual(await s.getSettings(), { schema_version: '15' });
    assert.deepEqual(await s.listDomains(), [{ dmid: 1, namespace: 'photos' }]);
    assert.deepEqual(await s.listClasses(), [{ dmid: 1, classid: 1, classname: 'thumbs', mindevcount: 1, replpolicy: null, hashtype: null }]);
    assert.deepEqual(await s.getFileByKey(1, KEY), { fid: 7, dmid: 1, dkey: KEY, length: 100, classid: 1, devcount: 2 });
    assert.deepEqual(await s.listKeys(1, 'fotos/é', null, 10), [KEY]);
    assert.deepEqual(await s.fileDevids(7), [1, 2]);
    assert.equal((await s.getChecksum(7))?.checksum.toString('hex'), '00112233445566778899aabbccddeeff');

    // What we write is what the original would have written: the same (latin1) bytes.
    const key2 = 'fotos/ünïcödé.jpg';
    const fid = await s.createTempfile({ dmid: 1, dkey: key2, classid: 1, devids: '1', createtime: 2 });
    assert.ok(fid > 7);
    await s.commitFile({ fid, dmid: 1, dkey: key2, length: 5, classid: 1, devids: [1] });
    const [stored] = await sql.query(`SELECT HEX(dkey) AS h FROM file WHERE fid = ${fid}`);
    assert.equal((stored as Array<{ h: string }>)[0].h.toLowerCase(), hex(key2));
    assert.deepEqual(await s.listKeys(1, 'fotos/', null, 10), [KEY, key2].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));

    // 255 bytes fit; 256 are a clear key_too_long before anything is written.
    const k255 = 'k/' + 'x'.repeat(253);
    const f255 = await s.createTempfile({ dmid: 1, dkey: k255, classid: 0, devids: '1', createtime: 3 });
    await s.commitFile({ fid: f255, dmid: 1, dkey: k255, length: 1, classid: 0, devids: [1] });
    assert.equal((await s.getFileByKey(1, k255))?.fid, f255);
    const tooLong = (e: unknown) => isMogError(e, 'key_too_long') && /255 bytes/.test((e as Error).message);
    await assert.rejects(s.createTempfile({ dmid: 1, dkey: k255 + 'y', classid: 0, devids: '1', createtime: 3 }), tooLong);
    const f2 = await s.createTempfile({ dmid: 1, dkey: 'short', classid: 0, devids: '1', createtime: 3 });
    await assert.rejects(s.commitFile({ fid: f2, dmid: 1, dkey: k255 + 'y', length: 1, classid: 0, devids: [1] }), tooLong);
    await assert.rejects(s.renameFile(1, k255, k255 + 'y'), tooLong);
    const [count] = await sql.query('SELECT COUNT(*) AS n FROM file');
    assert.equal(Number((count as Array<{ n: number }>)[0].n), 3);
  });
});

/**
 * The tables exactly as the original's mogdbsetup makes them (Store.pm's
 * TABLE_* at schema 15, fid as BIGINT, then ALTER ... ENGINE=InnoDB), on a
 * server whose default charset is latin1: no charset named, so every text
 * column, dkey included, is latin1 with latin1_swedish_ci.
 */
const MOGDBSETUP_DDL = ORIGINAL_DDL
  .replace(/VARCHAR\(255\) BINARY/g, 'VARCHAR(255)')
  .replace(/ DEFAULT CHARSET=latin1/g, '');

describe('mysql: non-ASCII keys on a latin1 database made by mogdbsetup', { skip: why !== null && !inCI() ? why : false }, () => {
  let db: TestDatabase;
  let store: MetadataStore | undefined;
  let client: MogileFS | undefined;
  let tracker: Awaited<ReturnType<typeof startTestTracker>> | undefined;
  let orig: mysql.Connection | undefined;
  after(async () => {
    await orig?.end();
    await client?.close();
    await tracker?.close();
    await db?.drop();
  });

  test('keys the original stored are found, listed and written as it does; a key latin1 cannot hold is refused', async () => {
    db = await newDatabase('mysql');
    const sql = await db.sql();
    // As on a server whose default charset is latin1 (the database's default is what mogdbsetup's tables get).
    await sql.query('ALTER DATABASE CHARACTER SET latin1 COLLATE latin1_swedish_ci');
    await sql.query(MOGDBSETUP_DDL);
    const [cols] = await sql.query(
      `SELECT TABLE_NAME AS t, COLUMN_TYPE AS type, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS coll FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'dkey' ORDER BY TABLE_NAME`,
    );
    assert.deepEqual(cols, [
      { t: 'file', type: 'varchar(255)', cs: 'latin1', coll: 'latin1_swedish_ci' },
      { t: 'tempfile', type: 'varchar(255)', cs: 'latin1', coll: 'latin1_swedish_ci' },
    ]);

    // The original's rows, written through a connection like its own (utf8, text, placeholders filled in by the client).
    const keys = { umlaut: 'u/ü.jpg', euro: 'u/€.jpg', ascii: 'u/plain.jpg', upper: 'u/Ünïcödé.jpg' };
    orig = await originalConnection(db.dsn);
    await orig.query(`
      INSERT INTO domain VALUES (1, 'photos');
      INSERT INTO host VALUES (1, 'alive', 7500, NULL, 'sto1', '127.0.0.1', NULL, NULL);
      INSERT INTO device (devid, hostid, status) VALUES (1, 1, 'alive');
      INSERT INTO server_settings VALUES ('schema_version', '15');`);
    let fid = 10;
    for (const key of Object.values(keys)) {
      await orig.query('INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, 1, ?, 5, 0, 1)', [++fid, key]);
      await orig.query('INSERT INTO file_on VALUES (?, 1)', [fid]);
    }
    const stored = async (): Promise<Record<string, string>> => {
      const [rows] = await sql.query('SELECT fid, HEX(dkey) AS h FROM file ORDER BY fid');
      return Object.fromEntries((rows as Array<{ fid: number; h: string }>).map((r) => [String(r.fid), r.h]));
    };
    // The bytes: the text converted to the column's charset (€ is 0x80 in MySQL's latin1, which is cp1252).
    assert.deepEqual(await stored(), {
      11: '752FFC2E6A7067', 12: '752F802E6A7067', 13: Buffer.from(keys.ascii).toString('hex').toUpperCase(),
      14: Buffer.from(keys.upper, 'latin1').toString('hex').toUpperCase(),
    });
    // What the original's own write of a key beyond latin1 meets: strict mode refuses it (without strict mode the
    // server would store '?' in its place).
    await assert.rejects(orig.query("INSERT INTO file VALUES (20, 1, 'u/✓.jpg', 5, 0, 1)"), /Incorrect string value/);

    store = await db.open();
    tracker = await startTestTracker(store);
    client = new MogileFS({ trackers: [`${tracker.host}:${tracker.port}`], domain: 'photos' });

    // get_paths, file_info and list_keys see the original's keys, as text.
    for (const [i, key] of Object.values(keys).entries()) {
      assert.equal((await client.fileInfo(key)).fid, 11 + i, key);
      const paths = await client.getPaths(key, { noverify: true });
      assert.equal(paths.length, 1, key);
      assert.match(paths[0], new RegExp(`/dev1/0/000/000/00000000${11 + i}\\.fid$`));
    }
    const listed = await client.listKeys('u/', { limit: 100 });
    assert.deepEqual([...listed.keys].sort(), Object.values(keys).sort());
    // A prefix that ends in a non-ASCII character. The column compares by latin1_swedish_ci, not by bytes, so
    // the prefix matches as the original's list_keys (dkey LIKE 'u/ü%') matches it: without regard to case.
    assert.deepEqual((await client.listKeys('u/ü', { limit: 100 })).keys, [keys.umlaut, keys.upper]);
    assert.deepEqual((await store.listKeys(1, 'u/€', null, 10)), [keys.euro]);
    // The column is case-insensitive, for the original's tracker and so for ours: the same row either way.
    assert.equal((await client.fileInfo('U/ÜNÏCÖDÉ.JPG')).fid, 14);

    // What we write is what the original's connection would have written, and reads back the same through it.
    const ours = 'u/é-ours.jpg';
    const t = await store.createTempfile({ dmid: 1, dkey: ours, classid: 0, devids: '1', createtime: 2 });
    await store.commitFile({ fid: t, dmid: 1, dkey: ours, length: 1, classid: 0, devids: [1] });
    assert.equal((await stored())[String(t)], Buffer.from(ours, 'latin1').toString('hex').toUpperCase());
    const [back] = await orig.query('SELECT fid FROM file WHERE dmid = 1 AND dkey = ?', [ours]);
    assert.deepEqual(back, [{ fid: t }]);
    await client.rename(ours, 'u/è-renamed.jpg');
    const [renamed] = await orig.query('SELECT dkey FROM file WHERE fid = ?', [t]);
    assert.deepEqual(renamed, [{ dkey: 'u/è-renamed.jpg' }]);

    // A key latin1 cannot hold: a clear error naming the character, and nothing written (never a silent '?').
    const before = await stored();
    const refused = (e: unknown) => isMogError(e, 'key_charset') && /cannot hold "✓" \(U\+2713\)/.test((e as Error).message);
    await assert.rejects(store.createTempfile({ dmid: 1, dkey: 'u/✓.jpg', classid: 0, devids: '1', createtime: 3 }), refused);
    await assert.rejects(client.rename(keys.ascii, 'u/✓.jpg'), (e: unknown) => (e as { code?: string }).code === 'key_charset');
    await assert.rejects(store.renamePrefix(1, 'u/', 'ü✓/'), refused);
    assert.deepEqual(await stored(), before);
    const [temps] = await sql.query('SELECT COUNT(*) AS n FROM tempfile');
    assert.equal(Number((temps as Array<{ n: number }>)[0].n), 0);
    // Looked up or listed, such a key is simply not there (no stored '?' key answers for it).
    await assert.rejects(client.fileInfo('u/✓.jpg'), (e: unknown) => (e as { code?: string }).code === 'unknown_key');
    assert.deepEqual((await client.listKeys('u/✓')).keys, []);
  });

  test("our latin1 table is the server's: all 256 bytes convert alike both ways", async () => {
    const sql = await (db ?? await newDatabase('mysql')).sql();
    const k = new KeySql({ maxBytes: 255, charset: 'latin1', collation: 'latin1_swedish_ci' });
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const [rows] = await sql.query('SELECT CONVERT(CONVERT(? USING latin1) USING utf8mb4) AS s', [all]);
    const text = (rows as Array<{ s: string }>)[0].s;
    assert.equal(k.read(all), text);
    assert.deepEqual(k.bind(text), all);
    // U+0080 is not in MySQL's latin1 (0x80 is the euro sign): the server would make it '?'.
    assert.throws(() => k.bind('\u0080'), (e: unknown) => isMogError(e, 'key_charset'));
  });
});
