/**
 * SqliteStore: the embedded MetadataStore, one better-sqlite3 connection per
 * process (db.ts) under the shared store logic (../sql). Statements are a
 * few microseconds on indexed rows; one that meets another process's write
 * lock waits off the event loop.
 */
import { OUR_MAX_KEY_LENGTH } from '../keys';
import { SqlStore } from '../sql/store';
import { SqliteDb } from './db';
import { textKeys } from './dialect';
import { createSchema } from './schema';

export class SqliteStore extends SqlStore {
  readonly engine = 'sqlite' as const;
  // SQLite does not enforce VARCHAR lengths, so even a database the original made holds our longer keys.
  readonly maxKeyLength = OUR_MAX_KEY_LENGTH;
  private readonly sqlite: SqliteDb;

  /** `busyWaitMs`: how long a call waits, off the event loop, for another process's write lock (default 10 s). */
  constructor(readonly path: string, opts: { busyWaitMs?: number } = {}) {
    const db = new SqliteDb(path, opts.busyWaitMs);
    super(db);
    this.sqlite = db;
    this.ready({ file: textKeys, tempfile: textKeys }, this.maxKeyLength);
  }

  async init(): Promise<void> {
    await this.sqlite.withRaw((raw) => createSchema(raw));
  }
}
