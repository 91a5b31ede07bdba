// Our MySQL engine on a database made by the original MogileFS (schema 15,
// dkey VARCHAR(255) BINARY in latin1 tables, keys stored as the raw UTF-8
// bytes Perl sends): init() leaves it alone and keeps to 255-byte keys.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inCI, mysqlUnavailable, newDatabase, TestDatabase } from './helpers/engines';
import { isMogError } from '../src/protocol';
import { openStore } from '../src/store';

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

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const KEY = 'fotos/été.jpg';

const why = mysqlUnavailable();
describe('mysql: a database made by the original MogileFS', { skip: why !== null && !inCI() ? why : false }, () => {
  let db: TestDatabase;
  after(async () => { await db?.drop(); });

  test('init() keeps its schema and data, and keys stay within 255 bytes', async () => {
    db = await newDatabase('mysql');
    const sql = await db.sql();
    await sql.query(ORIGINAL_DDL);
    // Rows as the original writes them: Perl sends the key's UTF-8 bytes untouched into the latin1 column.
    await sql.query(`
      INSERT INTO domain VALUES (1, 'photos');
      INSERT INTO class (dmid, classid, classname, mindevcount) VALUES (1, 1, 'thumbs', 1);
      INSERT INTO host VALUES (1, 'alive', 7500, NULL, 'sto1', '127.0.0.1', NULL, NULL);
      INSERT INTO device (devid, hostid, status) VALUES (1, 1, 'alive'), (2, 1, 'alive');
      INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (7, 1, 1, 1, X'${hex(KEY)}', '1,2');
      DELETE FROM tempfile WHERE fid = 7;
      INSERT INTO file VALUES (7, 1, X'${hex(KEY)}', 100, 1, 2);
      INSERT INTO file_on VALUES (7, 1), (7, 2);
      INSERT INTO checksum VALUES (7, 1, X'00112233445566778899aabbccddeeff');
      INSERT INTO server_settings VALUES ('schema_version', '15');
    `);
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

    // What we write is what the original would have written: the same bytes.
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
