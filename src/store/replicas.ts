/**
 * Read-only queries that may be answered by a database replica: the
 * original's `slaves_ok`. Only the MySQL engine has replicas
 * (mysql/replicas.ts); on SQLite, and on MySQL with no `slave_keys`
 * configured, slavesOk(store) is the store itself.
 *
 * Which commands use it (see docs/OPERATIONS.md): get_paths and file_info
 * (as the original's Query.pm), list_keys, mogfs_list_dir and mogfs_lookup
 * (our additions). A key the replica does not have is looked up again on the
 * master, so a get_paths right after create_close always finds the file.
 */
import type { MetadataStore } from './store';

export type SlaveReads = Pick<MetadataStore,
  'getFileByKey' | 'getFileWithDevids' | 'fileDevids' | 'listKeys' | 'listDirectory' | 'getFilesWithAttrs'>;

/** Where a read-only query that tolerates a replica's small lag should go. */
export function slavesOk(store: MetadataStore): SlaveReads {
  return store.slavesOk ?? store;
}

/**
 * The database could not be reached or dropped the connection (not a query
 * error): a tracker answers `ERR db` and tries again on the next request.
 */
export function isDbUnavailable(e: unknown): boolean {
  const err = e as { code?: unknown; errno?: unknown; fatal?: unknown; syscall?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  const code = typeof err.code === 'string' ? err.code : '';
  // A Unix socket that is not there (?socket= with the server down); any other missing file is not the database.
  if (code === 'ENOENT') return err.syscall === 'connect';
  if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|PROTOCOL_CONNECTION_LOST|PROTOCOL_SEQUENCE_TIMEOUT|ER_SERVER_SHUTDOWN|ER_CONNECTION_KILLED|ER_CON_COUNT_ERROR|ER_CANT_CONNECT_TO_MYSQL_SERVER)$/.test(code)) return true;
  if (code === 'POOL_CLOSED') return false;
  // 1053 server shutdown, 1040 too many connections, 1927 connection killed, 2002/2003/2006/2013 client-side losses
  const n = typeof err.errno === 'number' ? err.errno : 0;
  if ([1053, 1040, 1927, 2002, 2003, 2006, 2013].includes(n)) return true;
  return err.fatal === true;
}
