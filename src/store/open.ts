/**
 * openStore('sqlite:/path/db.sqlite' | 'sqlite' + dataDir | 'mysql://user:pass@host:port/db').
 * Implemented by the engines in ./sqlite and ./mysql.
 */
import type { MetadataStore } from './store';

export interface OpenOptions {
  /** `sqlite:PATH`, or `mysql://user:pass@host:port/db`. */
  dsn: string;
}

export async function openStore(opts: OpenOptions): Promise<MetadataStore> {
  const { dsn } = opts;
  let store: MetadataStore;
  if (dsn.startsWith('sqlite:')) {
    const { SqliteStore } = await import('./sqlite');
    store = new SqliteStore(dsn.slice('sqlite:'.length));
  } else if (dsn.startsWith('mysql://') || dsn.startsWith('mariadb://')) {
    const { MysqlStore } = await import('./mysql');
    store = new MysqlStore(dsn);
  } else {
    throw new Error(`unknown database DSN "${dsn}": use sqlite:PATH or mysql://user:pass@host:port/db`);
  }
  await store.init();
  return store;
}
