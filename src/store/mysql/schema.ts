/**
 * The original MogileFS tables (schema_version 15) in MySQL/MariaDB, created
 * when missing. The deliberate difference from the original: dkey is
 * VARBINARY(1024) (the original: VARCHAR(255)), so keys are bytes compared
 * bytewise and the (dmid, dkey) unique index serves prefix range scans. On a
 * database the original made, nothing existing is changed: we read the width,
 * charset and collation of its dkey columns and keep to them (keysql.ts).
 */
import type { MysqlDb } from './db';

export const SCHEMA_VERSION = 15;

const OPTS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

const TABLES: Record<string, string> = {
  domain: `CREATE TABLE IF NOT EXISTS domain (
    dmid SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
    namespace VARCHAR(255),
    UNIQUE (namespace)) ${OPTS}`,
  class: `CREATE TABLE IF NOT EXISTS class (
    dmid SMALLINT UNSIGNED NOT NULL,
    classid TINYINT UNSIGNED NOT NULL,
    classname VARCHAR(50),
    mindevcount TINYINT UNSIGNED NOT NULL,
    replpolicy VARCHAR(255),
    hashtype TINYINT UNSIGNED,
    PRIMARY KEY (dmid, classid),
    UNIQUE (dmid, classname)) ${OPTS}`,
  file: `CREATE TABLE IF NOT EXISTS file (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    dmid SMALLINT UNSIGNED NOT NULL,
    dkey VARBINARY(1024),
    length BIGINT UNSIGNED,
    classid TINYINT UNSIGNED NOT NULL,
    devcount TINYINT UNSIGNED NOT NULL,
    UNIQUE dkey (dmid, dkey),
    INDEX devcount (dmid, classid, devcount)) ${OPTS}`,
  tempfile: `CREATE TABLE IF NOT EXISTS tempfile (
    fid BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    createtime INT UNSIGNED NOT NULL,
    classid TINYINT UNSIGNED NOT NULL,
    dmid SMALLINT UNSIGNED NOT NULL,
    dkey VARBINARY(1024),
    devids VARCHAR(5000),
    INDEX ndx_createtime (createtime)) ${OPTS}`,
  file_to_delete: `CREATE TABLE IF NOT EXISTS file_to_delete (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY) ${OPTS}`,
  unreachable_fids: `CREATE TABLE IF NOT EXISTS unreachable_fids (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    lastupdate INT UNSIGNED NOT NULL,
    INDEX (lastupdate)) ${OPTS}`,
  file_on: `CREATE TABLE IF NOT EXISTS file_on (
    fid BIGINT UNSIGNED NOT NULL,
    devid MEDIUMINT UNSIGNED NOT NULL,
    PRIMARY KEY (fid, devid),
    INDEX (devid)) ${OPTS}`,
  file_on_corrupt: `CREATE TABLE IF NOT EXISTS file_on_corrupt (
    fid BIGINT UNSIGNED NOT NULL,
    devid MEDIUMINT UNSIGNED NOT NULL,
    PRIMARY KEY (fid, devid)) ${OPTS}`,
  host: `CREATE TABLE IF NOT EXISTS host (
    hostid MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY,
    status ENUM('alive','dead','down','readonly'),
    http_port MEDIUMINT UNSIGNED DEFAULT 7500,
    http_get_port MEDIUMINT UNSIGNED,
    hostname VARCHAR(40),
    hostip VARCHAR(40),
    altip VARCHAR(15),
    altmask VARCHAR(18),
    UNIQUE (hostname),
    UNIQUE (hostip),
    UNIQUE (altip)) ${OPTS}`,
  device: `CREATE TABLE IF NOT EXISTS device (
    devid MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY,
    hostid MEDIUMINT UNSIGNED NOT NULL,
    status ENUM('alive','dead','down','readonly','drain'),
    weight MEDIUMINT DEFAULT 100,
    mb_total INT UNSIGNED,
    mb_used INT UNSIGNED,
    mb_asof INT UNSIGNED,
    INDEX (status)) ${OPTS}`,
  server_settings: `CREATE TABLE IF NOT EXISTS server_settings (
    field VARCHAR(50) PRIMARY KEY,
    value TEXT) ${OPTS}`,
  file_to_replicate: `CREATE TABLE IF NOT EXISTS file_to_replicate (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    nexttry INT UNSIGNED NOT NULL,
    fromdevid INT UNSIGNED,
    failcount TINYINT UNSIGNED NOT NULL DEFAULT 0,
    flags SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    INDEX (nexttry)) ${OPTS}`,
  file_to_delete_later: `CREATE TABLE IF NOT EXISTS file_to_delete_later (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    delafter INT UNSIGNED NOT NULL,
    INDEX (delafter)) ${OPTS}`,
  fsck_log: `CREATE TABLE IF NOT EXISTS fsck_log (
    logid INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    utime INT UNSIGNED NOT NULL,
    fid BIGINT UNSIGNED NULL,
    evcode CHAR(4),
    devid MEDIUMINT UNSIGNED,
    INDEX (utime)) ${OPTS}`,
  file_to_queue: `CREATE TABLE IF NOT EXISTS file_to_queue (
    fid BIGINT UNSIGNED NOT NULL,
    devid INT UNSIGNED,
    type TINYINT UNSIGNED NOT NULL,
    nexttry INT UNSIGNED NOT NULL,
    failcount TINYINT UNSIGNED NOT NULL DEFAULT 0,
    flags SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    arg TEXT,
    PRIMARY KEY (fid, type),
    INDEX type_nexttry (type, nexttry)) ${OPTS}`,
  file_to_delete2: `CREATE TABLE IF NOT EXISTS file_to_delete2 (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    nexttry INT UNSIGNED NOT NULL,
    failcount TINYINT UNSIGNED NOT NULL DEFAULT 0,
    INDEX nexttry (nexttry)) ${OPTS}`,
  checksum: `CREATE TABLE IF NOT EXISTS checksum (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    hashtype TINYINT UNSIGNED NOT NULL,
    checksum VARBINARY(64) NOT NULL,
    INDEX checksum_ndx (checksum)) ${OPTS}`,
  // Ours, not the original's: attributes MogileFS has no column for (see ../attrs.ts).
  mogfs_file_attr: `CREATE TABLE IF NOT EXISTS mogfs_file_attr (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    mtime_sec BIGINT,
    mtime_nsec INT UNSIGNED,
    mode INT UNSIGNED,
    uid INT UNSIGNED,
    gid INT UNSIGNED,
    symlink VARBINARY(4096)) ${OPTS}`,
  // Ours: extended attributes (user.*) set through the bridge, keyed by fid and name.
  mogfs_file_xattr: `CREATE TABLE IF NOT EXISTS mogfs_file_xattr (
    fid BIGINT UNSIGNED NOT NULL,
    name VARBINARY(255) NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (fid, name)) ${OPTS}`,
  // Ours: WebDAV locks every bridge process honours (see ../davlocks.ts).
  mogfs_dav_lock: `CREATE TABLE IF NOT EXISTS mogfs_dav_lock (
    token VARCHAR(100) NOT NULL PRIMARY KEY,
    lockpath BLOB NOT NULL,
    depth INT NOT NULL,
    excl TINYINT NOT NULL,
    owner BLOB NOT NULL,
    username VARBINARY(255) NOT NULL,
    timeout INT UNSIGNED NOT NULL,
    expires BIGINT UNSIGNED NOT NULL,
    INDEX (expires)) ${OPTS}`,
  // Ours: which replication jobs a tracker is running now (see replicate.ts), so
  // a re-queue while a copy runs waits for it instead of starting a second copy.
  mogfs_replicate_claim: `CREATE TABLE IF NOT EXISTS mogfs_replicate_claim (
    fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    leaseend INT UNSIGNED NOT NULL,
    recheck TINYINT UNSIGNED NOT NULL DEFAULT 0) ${OPTS}`,
};

/** Columns the original added in later schema versions, for databases older than 15. */
const ADDED_COLUMNS: Array<[table: string, column: string, ddl: string]> = [
  ['class', 'replpolicy', 'ALTER TABLE class ADD COLUMN replpolicy VARCHAR(255)'],
  ['class', 'hashtype', 'ALTER TABLE class ADD COLUMN hashtype TINYINT UNSIGNED'],
  ['file_to_queue', 'arg', 'ALTER TABLE file_to_queue ADD COLUMN arg TEXT'],
];

/** How one dkey column stores keys: its width and, for a text column, its character set. */
export interface KeyColumn {
  maxBytes: number;
  /** null for VARBINARY (ours); the charset of an original VARCHAR column. */
  charset: string | null;
  /** Its collation (null for VARBINARY): the original's latin1 column is latin1_swedish_ci, case-insensitive. */
  collation: string | null;
}

interface ColumnInfo {
  COLUMN_NAME: string;
  CHARACTER_MAXIMUM_LENGTH: number | null;
  CHARACTER_SET_NAME: string | null;
  COLLATION_NAME: string | null;
}

async function columns(db: MysqlDb, table: string): Promise<ColumnInfo[]> {
  return db.all<ColumnInfo>(
    `SELECT COLUMN_NAME, CHARACTER_MAXIMUM_LENGTH, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, table,
  );
}

/** Creates what is missing; returns how file.dkey and tempfile.dkey hold keys. */
export async function createSchema(db: MysqlDb): Promise<{ file: KeyColumn; tempfile: KeyColumn }> {
  for (const ddl of Object.values(TABLES)) await db.exec(ddl);
  for (const [table, column, ddl] of ADDED_COLUMNS) {
    if ((await columns(db, table)).some((c) => c.COLUMN_NAME === column)) continue;
    try {
      await db.exec(ddl);
    } catch (e) {
      // Another tracker starting at the same time may have added it first (ER_DUP_FIELDNAME).
      if ((e as { errno?: number }).errno !== 1060) throw e;
    }
  }
  const row = await db.get<{ value: string }>("SELECT value FROM server_settings WHERE field = 'schema_version'");
  if (!row || Number(row.value) < SCHEMA_VERSION) {
    await db.run("REPLACE INTO server_settings (field, value) VALUES ('schema_version', ?)", String(SCHEMA_VERSION));
  }
  const keyColumn = async (table: string): Promise<KeyColumn> => {
    const c = (await columns(db, table)).find((x) => x.COLUMN_NAME === 'dkey');
    if (!c || c.CHARACTER_MAXIMUM_LENGTH === null) throw new Error(`table ${table} has no usable dkey column`);
    // CHARACTER_SET_NAME is NULL for binary types; a text column counts in characters, we count bytes (stricter).
    return { maxBytes: Number(c.CHARACTER_MAXIMUM_LENGTH), charset: c.CHARACTER_SET_NAME, collation: c.COLLATION_NAME };
  };
  return { file: await keyColumn('file'), tempfile: await keyColumn('tempfile') };
}
