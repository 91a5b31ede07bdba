/**
 * MysqlStore: the production MetadataStore on MySQL or MariaDB, through a
 * mysql2 connection pool (db.ts) under the shared store logic (../sql).
 * Several trackers may share one database: ids are allocated under a named
 * lock, multi-row changes are transactions, and job claims lease rows with
 * SELECT ... FOR UPDATE SKIP LOCKED. What stays here is MySQL's own: the
 * schema it finds (ours or the original's, and how that one stores keys),
 * and the delete and replication paths sent in fewer round trips.
 */
import { listDirectory } from '../listdir';
import { checkKeyLength, OUR_MAX_KEY_LENGTH, unixNow } from '../keys';
import type { CommitFile } from '../types';
import type { SlaveReads } from '../replicas';
import { Attrs } from '../sql/attrs';
import { Files, noTempFile } from '../sql/files';
import { SqlStore } from '../sql/store';
import { MysqlDb } from './db';
import { mysqlDialect, supportsSkipLocked, supportsInsertReturning } from './dialect';
import { KeySql } from './keysql';
import * as batches from './batches';
import { KeyDeletes } from './keydeletes';
import { MysqlReplicas } from './replicas';
import { createSchema } from './schema';

export class MysqlStore extends SqlStore {
  readonly engine = 'mysql' as const;
  /** 1024 on our schema; the width of file.dkey (255) on a database the original made. Known after init(). */
  maxKeyLength = OUR_MAX_KEY_LENGTH;
  private readonly mysql: MysqlDb;
  private fileKey: KeySql | null = null;
  private tempKey: KeySql | null = null;

  /** `mysql://user:pass@host:port/dbname` (the database must exist). */
  constructor(dsnUrl: string) {
    const db = new MysqlDb(dsnUrl);
    super(db);
    this.mysql = db;
    this.keyDeletes = new KeyDeletes(db, () => this.keys().file);
  }

  async init(): Promise<void> {
    const keys = await createSchema(this.mysql);
    this.maxKeyLength = Math.min(keys.file.maxBytes, keys.tempfile.maxBytes, OUR_MAX_KEY_LENGTH);
    const version = (await this.mysql.get<{ v: string }>('SELECT VERSION() AS v'))?.v ?? '';
    this.mysql.dialect = mysqlDialect(supportsSkipLocked(version), supportsInsertReturning(version));
    this.fileKey = new KeySql(keys.file);
    this.tempKey = new KeySql(keys.tempfile);
    this.ready({ file: this.fileKey, tempfile: this.tempKey }, this.maxKeyLength);
    this.initReplicas(keys);
  }

  // --- read replicas (replicas.ts): the original's slaves_ok ---
  /** Read replicas from the slave_* settings; null before init(). */
  replicas: MysqlReplicas | null = null;
  get slavesOk(): SlaveReads | undefined { return this.replicas?.active(); }
  private initReplicas(keys: Awaited<ReturnType<typeof createSchema>>): void {
    const maxKey = this.maxKeyLength;
    // The same read queries on another server's pool.
    this.replicas = new MysqlReplicas(this.mysql, this, (db) => {
      const files = new Files(db, new KeySql(keys.file), new KeySql(keys.tempfile), maxKey);
      const attrs = new Attrs(db, new KeySql(keys.file));
      return {
        getFileByKey: (dmid, dkey) => files.getFileByKey(dmid, dkey),
        getFileWithDevids: (dmid, dkey) => files.getFileWithDevids(dmid, dkey),
        fileDevids: (fid) => files.fileDevids(fid),
        listKeys: (dmid, prefix, after, limit) => files.listKeys(dmid, prefix, after, limit),
        listDirectory: (dmid, prefix, delimiter, after, limit) =>
          listDirectory((from, incl, _end, n) => files.scanKeys(dmid, from, incl, prefix, n), prefix, delimiter, after, limit),
        getFilesWithAttrs: (dmid, ks) => attrs.filesWithAttrs(dmid, ks),
      };
    });
  }

  override async close(): Promise<void> {
    await this.replicas?.close();
    await super.close();
  }

  override async setSetting(field: string, value: string): Promise<void> {
    await super.setSetting(field, value);
    if (field.startsWith('slave')) this.replicas?.invalidate(); // read replicas: the list may have changed
  }
  // --- end of read replicas ---

  private keys(): { file: KeySql; temp: KeySql } {
    if (!this.fileKey || !this.tempKey) throw new Error('the mysql store was used before init(): open it with openStore()');
    return { file: this.fileKey, temp: this.tempKey };
  }

  // --- one round trip each for the hot transactions (batches.ts); the rare cases take the shared code.
  // Only transactions of three or more statements gain: a batch goes as text, which costs client and
  // server about what two prepared round trips do (create_open and addFileOn stayed as they were). ---

  override async commitFile(c: CommitFile): Promise<{ replacedFid: number | null }> {
    checkKeyLength(c.dkey, this.maxKeyLength);
    try {
      if (await batches.commitNewFile(this.mysql, this.keys().file, c)) return { replacedFid: null };
    } catch (e) {
      // The key (or the fid) is taken: the shared transaction replaces the old file or says why not.
      if (this.mysql.dialect.isDuplicate(e)) return super.commitFile(c);
      throw e;
    }
    throw noTempFile(c.fid);
  }

  /** Deletes by key, those that come together sent as one transaction (keydeletes.ts). */
  private readonly keyDeletes: KeyDeletes;

  override deleteFileByKey(dmid: number, dkey: string, now?: number): Promise<number | null> {
    return this.keyDeletes.delete(dmid, dkey, now ?? unixNow());
  }

  protected override finishDeletedChunk(part: number[]): Promise<number[]> {
    return batches.finishDeletedChunk(this.mysql, part);
  }

  override async addFileOnAndFinish(fid: number, devid: number): Promise<'finished' | 'gone'> {
    const r = await batches.addFileOnAndFinish(this.mysql, fid, devid);
    if (r !== null) return r;
    await super.finishReplicate(fid);
    return 'finished';
  }

  /**
   * The common case in one autocommit statement (atomic, so an enqueue
   * cannot slip in between): our claim, with no re-check asked, and the
   * queue row go together. Anything else takes the shared transaction.
   */
  override async finishReplicate(fid: number): Promise<void> {
    const res = await this.mysql.run(
      `DELETE c, r FROM mogfs_replicate_claim c JOIN file_to_replicate r ON r.fid = c.fid
       WHERE c.fid = ? AND c.recheck = 0`,
      fid,
    );
    if (res.changes > 0) return;
    await super.finishReplicate(fid);
  }
}
