/**
 * The original MogileFS tables (schema_version 15) in SQLite's dialect.
 * Column names and meanings are the original's; the one deliberate change is
 * that dkey holds up to 1024 bytes (SQLite does not enforce VARCHAR lengths,
 * we do in code). tempfile.fid uses AUTOINCREMENT so a fid is never handed
 * out twice, even after its tempfile row is gone.
 */
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 15;

const TABLES: Record<string, string[]> = {
  domain: [
    `CREATE TABLE domain (
      dmid INTEGER NOT NULL PRIMARY KEY,
      namespace VARCHAR(255),
      UNIQUE (namespace))`,
  ],
  class: [
    `CREATE TABLE class (
      dmid INTEGER NOT NULL,
      classid INTEGER NOT NULL,
      classname VARCHAR(50),
      mindevcount INTEGER NOT NULL,
      replpolicy VARCHAR(255),
      hashtype INTEGER,
      PRIMARY KEY (dmid, classid),
      UNIQUE (dmid, classname))`,
  ],
  file: [
    `CREATE TABLE file (
      fid INTEGER NOT NULL PRIMARY KEY,
      dmid INTEGER NOT NULL,
      dkey VARCHAR(1024),
      length BIGINT,
      classid INTEGER NOT NULL,
      devcount INTEGER NOT NULL,
      UNIQUE (dmid, dkey))`,
    'CREATE INDEX file_devcount ON file (dmid, classid, devcount)',
  ],
  tempfile: [
    `CREATE TABLE tempfile (
      fid INTEGER PRIMARY KEY AUTOINCREMENT,
      createtime INTEGER NOT NULL,
      classid INTEGER NOT NULL,
      dmid INTEGER NOT NULL,
      dkey VARCHAR(1024),
      devids VARCHAR(5000))`,
    'CREATE INDEX tempfile_createtime ON tempfile (createtime)',
  ],
  file_to_delete: ['CREATE TABLE file_to_delete (fid INTEGER NOT NULL PRIMARY KEY)'],
  unreachable_fids: [
    'CREATE TABLE unreachable_fids (fid INTEGER NOT NULL PRIMARY KEY, lastupdate INTEGER NOT NULL)',
    'CREATE INDEX unreachable_fids_lastupdate ON unreachable_fids (lastupdate)',
  ],
  file_on: [
    'CREATE TABLE file_on (fid INTEGER NOT NULL, devid INTEGER NOT NULL, PRIMARY KEY (fid, devid))',
    'CREATE INDEX file_on_devid ON file_on (devid)',
  ],
  file_on_corrupt: [
    'CREATE TABLE file_on_corrupt (fid INTEGER NOT NULL, devid INTEGER NOT NULL, PRIMARY KEY (fid, devid))',
  ],
  host: [
    `CREATE TABLE host (
      hostid INTEGER NOT NULL PRIMARY KEY,
      status VARCHAR(10),
      http_port INTEGER DEFAULT 7500,
      http_get_port INTEGER,
      hostname VARCHAR(40),
      hostip VARCHAR(40),
      altip VARCHAR(15),
      altmask VARCHAR(18),
      UNIQUE (hostname),
      UNIQUE (hostip),
      UNIQUE (altip))`,
  ],
  device: [
    `CREATE TABLE device (
      devid INTEGER NOT NULL PRIMARY KEY,
      hostid INTEGER NOT NULL,
      status VARCHAR(8),
      weight INTEGER DEFAULT 100,
      mb_total INTEGER,
      mb_used INTEGER,
      mb_asof INTEGER)`,
    'CREATE INDEX device_status ON device (status)',
  ],
  server_settings: ['CREATE TABLE server_settings (field VARCHAR(50) PRIMARY KEY, value TEXT)'],
  file_to_replicate: [
    `CREATE TABLE file_to_replicate (
      fid INTEGER NOT NULL PRIMARY KEY,
      nexttry INTEGER NOT NULL,
      fromdevid INTEGER,
      failcount INTEGER NOT NULL DEFAULT 0,
      flags INTEGER NOT NULL DEFAULT 0)`,
    'CREATE INDEX file_to_replicate_nexttry ON file_to_replicate (nexttry)',
  ],
  file_to_delete_later: [
    'CREATE TABLE file_to_delete_later (fid INTEGER NOT NULL PRIMARY KEY, delafter INTEGER NOT NULL)',
    'CREATE INDEX file_to_delete_later_delafter ON file_to_delete_later (delafter)',
  ],
  fsck_log: [
    `CREATE TABLE fsck_log (
      logid INTEGER PRIMARY KEY AUTOINCREMENT,
      utime INTEGER NOT NULL,
      fid INTEGER NULL,
      evcode CHAR(4),
      devid INTEGER)`,
    'CREATE INDEX fsck_log_utime ON fsck_log (utime)',
  ],
  file_to_queue: [
    `CREATE TABLE file_to_queue (
      fid INTEGER NOT NULL,
      devid INTEGER,
      type INTEGER NOT NULL,
      nexttry INTEGER NOT NULL,
      failcount INTEGER NOT NULL DEFAULT 0,
      flags INTEGER NOT NULL DEFAULT 0,
      arg TEXT,
      PRIMARY KEY (fid, type))`,
    'CREATE INDEX file_to_queue_type_nexttry ON file_to_queue (type, nexttry)',
  ],
  file_to_delete2: [
    `CREATE TABLE file_to_delete2 (
      fid INTEGER NOT NULL PRIMARY KEY,
      nexttry INTEGER NOT NULL,
      failcount INTEGER NOT NULL DEFAULT 0)`,
    'CREATE INDEX file_to_delete2_nexttry ON file_to_delete2 (nexttry)',
  ],
  checksum: [
    `CREATE TABLE checksum (
      fid INTEGER NOT NULL PRIMARY KEY,
      hashtype INTEGER NOT NULL,
      checksum BLOB NOT NULL)`,
  ],
  // Ours, not the original's: attributes MogileFS has no column for (see ../attrs.ts).
  mogfs_file_attr: [
    `CREATE TABLE mogfs_file_attr (
      fid INTEGER NOT NULL PRIMARY KEY,
      mtime_sec INTEGER,
      mtime_nsec INTEGER,
      mode INTEGER,
      uid INTEGER,
      gid INTEGER,
      symlink TEXT)`,
  ],
  // Ours: extended attributes (user.*) set through the bridge, keyed by fid and name.
  mogfs_file_xattr: [
    `CREATE TABLE mogfs_file_xattr (
      fid INTEGER NOT NULL,
      name TEXT NOT NULL,
      value BLOB NOT NULL,
      PRIMARY KEY (fid, name))`,
  ],
  // Ours: WebDAV locks every bridge process honours (see ../davlocks.ts).
  mogfs_dav_lock: [
    `CREATE TABLE mogfs_dav_lock (
      token TEXT NOT NULL PRIMARY KEY,
      lockpath BLOB NOT NULL,
      depth INTEGER NOT NULL,
      excl INTEGER NOT NULL,
      owner BLOB NOT NULL,
      username BLOB NOT NULL,
      timeout INTEGER NOT NULL,
      expires INTEGER NOT NULL)`,
  ],
  // Ours: which replication jobs a tracker is running now (see replicate.ts), so
  // a re-queue while a copy runs waits for it instead of starting a second copy.
  mogfs_replicate_claim: [
    `CREATE TABLE mogfs_replicate_claim (
      fid INTEGER NOT NULL PRIMARY KEY,
      leaseend INTEGER NOT NULL,
      recheck INTEGER NOT NULL DEFAULT 0)`,
  ],
};

/** Columns later schema versions added to tables that older databases already have. */
const ADDED_COLUMNS: Array<[table: string, column: string, ddl: string]> = [
  ['class', 'replpolicy', 'ALTER TABLE class ADD COLUMN replpolicy VARCHAR(255)'],
  ['class', 'hashtype', 'ALTER TABLE class ADD COLUMN hashtype INTEGER'],
  ['file_to_queue', 'arg', 'ALTER TABLE file_to_queue ADD COLUMN arg TEXT'],
  ['host', 'http_get_port', 'ALTER TABLE host ADD COLUMN http_get_port INTEGER'],
  ['host', 'altip', 'ALTER TABLE host ADD COLUMN altip VARCHAR(15)'],
  ['host', 'altmask', 'ALTER TABLE host ADD COLUMN altmask VARCHAR(18)'],
  ['device', 'weight', 'ALTER TABLE device ADD COLUMN weight INTEGER DEFAULT 100'],
  ['device', 'mb_asof', 'ALTER TABLE device ADD COLUMN mb_asof INTEGER'],
];

/** Creates what is missing; never alters what exists beyond adding the original's later columns. */
export function createSchema(db: Database.Database): void {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  const run = db.transaction(() => {
    for (const [table, ddl] of Object.entries(TABLES)) {
      if (exists.get(table)) continue;
      for (const sql of ddl) db.exec(sql);
    }
    for (const [table, column, ddl] of ADDED_COLUMNS) {
      const cols = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
      if (!cols.some((c) => c.name === column)) db.exec(ddl);
    }
    const row = db.prepare("SELECT value FROM server_settings WHERE field = 'schema_version'").get() as
      | { value: string }
      | undefined;
    if (!row || Number(row.value) < SCHEMA_VERSION) {
      db.prepare("INSERT OR REPLACE INTO server_settings (field, value) VALUES ('schema_version', ?)").run(
        String(SCHEMA_VERSION),
      );
    }
  });
  run.immediate();
}
