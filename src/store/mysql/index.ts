// The production metadata engine: MySQL or MariaDB through a mysql2 pool, on
// the original MogileFS tables, shareable by several trackers.
export { MysqlStore } from './store';
export { SCHEMA_VERSION } from './schema';
