// The embedded metadata engine: SQLite through better-sqlite3, WAL mode, on
// the original MogileFS tables. The default for a one-machine cluster.
export { SqliteStore } from './store';
export { SCHEMA_VERSION } from './schema';
