/**
 * MysqlStore: the production MetadataStore on MySQL or MariaDB, through a
 * mysql2 connection pool. Several trackers may share one database: ids are
 * allocated with retry on collision, multi-row changes are transactions, and
 * job claims lease rows with SELECT ... FOR UPDATE SKIP LOCKED.
 */
import type { MetadataStore } from '../store';
import { DirEntry, listDirectory } from '../listdir';
import { OUR_MAX_KEY_LENGTH, unixNow } from '../keys';
import type {
  Checksum, ClassRow, CommitFile, DeleteJob, DevicePatch, DeviceRow, DomainRow, DomainUsage, FileRow,
  HostPatch, HostRow, NewTempfile, ReplicateJob, TempfileRow,
} from '../types';
import type { FileAttrs, FileWithAttrs } from '../attrs';
import { MysqlAttrs } from './attrs';
import { MysqlDb } from './db';
import { MysqlFiles } from './files';
import { KeySql } from './keysql';
import { MysqlLayout } from './layout';
import { MysqlQueues, supportsSkipLocked } from './queues';
import { MysqlReplicateQueue } from './replicate';
import { DavLockTable } from '../davlocks';
import type { MoveStore } from '../rebalance';
import { MysqlMoves } from './rebalance';
import { deleteJobState, finishDeletedFile } from './delete';
import { createSchema } from './schema';
import type { SlaveReads } from '../replicas';
import { MysqlReplicas } from './replicas';
import { MysqlFsck } from './fsck';

export class MysqlStore implements MetadataStore {
  readonly engine = 'mysql' as const;
  /** 1024 on our schema; the width of file.dkey (255) on a database the original made. Known after init(). */
  maxKeyLength = OUR_MAX_KEY_LENGTH;
  private readonly db: MysqlDb;
  private readonly layout: MysqlLayout;
  private filesImpl: MysqlFiles | null = null;
  private queuesImpl: MysqlQueues | null = null;
  private replqImpl: MysqlReplicateQueue | null = null;
  private attrsImpl: MysqlAttrs | null = null;

  /** Our WebDAV lock table; taking a lock holds a server-wide named lock, so trackers take them one at a time. */
  readonly davLocks: DavLockTable;
  readonly fsck: MysqlFsck;
  /** Drain and rebalance (../rebalance.ts). */
  readonly moves: MoveStore;

  /** `mysql://user:pass@host:port/dbname` (the database must exist). */
  constructor(dsnUrl: string) {
    this.db = new MysqlDb(dsnUrl);
    this.layout = new MysqlLayout(this.db);
    this.fsck = new MysqlFsck(this.db);
    this.moves = new MysqlMoves(this.db);
    const db = this.db;
    this.davLocks = new DavLockTable({
      all: (sql, ...p) => db.all(sql, ...p),
      run: (sql, ...p) => db.run(sql, ...p),
      serialized: (fn) => db.withLock('mogfs_dav_lock', () => fn()),
    });
  }

  async init(): Promise<void> {
    const keys = await createSchema(this.db);
    this.maxKeyLength = Math.min(keys.file.maxBytes, keys.tempfile.maxBytes, OUR_MAX_KEY_LENGTH);
    const version = (await this.db.get<{ v: string }>('SELECT VERSION() AS v'))?.v ?? '';
    this.filesImpl = new MysqlFiles(this.db, new KeySql(keys.file), new KeySql(keys.tempfile), this.maxKeyLength);
    this.queuesImpl = new MysqlQueues(this.db, supportsSkipLocked(version));
    this.replqImpl = new MysqlReplicateQueue(this.db, supportsSkipLocked(version));
    this.attrsImpl = new MysqlAttrs(this.db, new KeySql(keys.file));
    this.initReplicas(keys);
  }

  // --- read replicas (replicas.ts): the original's slaves_ok ---
  /** Read replicas from the slave_* settings; null before init(). */
  replicas: MysqlReplicas | null = null;
  get slavesOk(): SlaveReads | undefined { return this.replicas?.reads; }
  private initReplicas(keys: Awaited<ReturnType<typeof createSchema>>): void {
    const maxKey = this.maxKeyLength;
    // The same read queries on another server's pool.
    this.replicas = new MysqlReplicas(this.db, this, (db) => {
      const files = new MysqlFiles(db, new KeySql(keys.file), new KeySql(keys.tempfile), maxKey);
      const attrs = new MysqlAttrs(db, new KeySql(keys.file));
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
  // --- end of read replicas ---

  async close(): Promise<void> {
    await this.replicas?.close();
    await this.db.close();
  }

  private get f(): MysqlFiles {
    if (!this.filesImpl) throw new Error('MysqlStore used before init(): open it with openStore()');
    return this.filesImpl;
  }

  private get q(): MysqlQueues {
    if (!this.queuesImpl) throw new Error('MysqlStore used before init(): open it with openStore()');
    return this.queuesImpl;
  }

  private get r(): MysqlReplicateQueue {
    if (!this.replqImpl) throw new Error('MysqlStore used before init(): open it with openStore()');
    return this.replqImpl;
  }

  listDomains(): Promise<DomainRow[]> { return this.layout.listDomains(); }
  createDomain(namespace: string): Promise<DomainRow> { return this.layout.createDomain(namespace); }
  deleteDomain(dmid: number): Promise<void> { return this.layout.deleteDomain(dmid); }
  domainHasFiles(dmid: number): Promise<boolean> { return this.layout.domainHasFiles(dmid); }
  domainUsage(): Promise<DomainUsage[]> { return this.layout.domainUsage(); }

  listClasses(): Promise<ClassRow[]> { return this.layout.listClasses(); }
  createClass(c: Omit<ClassRow, 'classid'>): Promise<ClassRow> { return this.layout.createClass(c); }
  updateClass(c: ClassRow): Promise<void> { return this.layout.updateClass(c); }
  deleteClass(dmid: number, classid: number): Promise<void> { return this.layout.deleteClass(dmid, classid); }
  classHasFiles(dmid: number, classid: number): Promise<boolean> { return this.layout.classHasFiles(dmid, classid); }

  listHosts(): Promise<HostRow[]> { return this.layout.listHosts(); }
  createHost(h: Omit<HostRow, 'hostid'> & { hostid?: number }): Promise<HostRow> { return this.layout.createHost(h); }
  updateHost(hostid: number, patch: HostPatch): Promise<void> { return this.layout.updateHost(hostid, patch); }
  deleteHost(hostid: number): Promise<void> { return this.layout.deleteHost(hostid); }
  listDevices(): Promise<DeviceRow[]> { return this.layout.listDevices(); }
  createDevice(d: Pick<DeviceRow, 'devid' | 'hostid' | 'status'> & Partial<DeviceRow>): Promise<DeviceRow> {
    return this.layout.createDevice(d);
  }
  updateDevice(devid: number, patch: DevicePatch): Promise<void> { return this.layout.updateDevice(devid, patch); }

  getSettings(): Promise<Record<string, string>> { return this.layout.getSettings(); }
  async setSetting(field: string, value: string): Promise<void> {
    await this.layout.setSetting(field, value);
    if (field.startsWith('slave')) this.replicas?.invalidate(); // read replicas: the list may have changed
  }

  createTempfile(t: NewTempfile): Promise<number> { return this.f.createTempfile(t); }
  getTempfile(fid: number): Promise<TempfileRow | null> { return this.f.getTempfile(fid); }
  deleteTempfile(fid: number): Promise<void> { return this.f.deleteTempfile(fid); }
  listStaleTempfiles(before: number, limit: number): Promise<TempfileRow[]> { return this.f.listStaleTempfiles(before, limit); }

  getFile(fid: number): Promise<FileRow | null> { return this.f.getFile(fid); }
  getFileByKey(dmid: number, dkey: string): Promise<FileRow | null> { return this.f.getFileByKey(dmid, dkey); }
  commitFile(c: CommitFile): Promise<{ replacedFid: number | null }> { return this.f.commitFile(c, c.now ?? unixNow()); }
  deleteFile(fid: number, now?: number): Promise<void> { return this.f.deleteFile(fid, now ?? unixNow()); }
  deleteFileByKey(dmid: number, dkey: string, now?: number): Promise<number | null> { return this.f.deleteFileByKey(dmid, dkey, now ?? unixNow()); }
  renameFile(dmid: number, from: string, to: string, opts: { replace?: boolean; now?: number } = {}): Promise<number | null> {
    return this.f.renameFile(dmid, from, to, opts.replace === true, opts.now ?? unixNow());
  }
  renamePrefix(dmid: number, from: string, to: string): Promise<number> { return this.f.renamePrefix(dmid, from, to); }
  updateFileClass(fid: number, classid: number): Promise<void> { return this.f.updateFileClass(fid, classid); }
  listKeys(dmid: number, prefix: string, after: string | null, limit: number): Promise<string[]> {
    return this.f.listKeys(dmid, prefix, after, limit);
  }
  listDirectory(dmid: number, prefix: string, delimiter: string, after: string | null, limit: number): Promise<DirEntry[]> {
    const files = this.f;
    // The listing's upper bound is always the end of `prefix`; scanKeys bounds by the prefix itself (see KeySql.startsWith).
    return listDirectory((from, incl, _end, n) => files.scanKeys(dmid, from, incl, prefix, n), prefix, delimiter, after, limit);
  }
  listFids(from: number, count: number): Promise<FileRow[]> { return this.f.listFids(from, count); }

  fileDevids(fid: number): Promise<number[]> { return this.f.fileDevids(fid); }
  getFileWithDevids(dmid: number, dkey: string): Promise<{ file: FileRow; devids: number[] } | null> {
    return this.f.getFileWithDevids(dmid, dkey);
  }
  getFileForReplication(fid: number): Promise<{ file: FileRow; devids: number[]; checksum: Checksum | null } | null> {
    return this.f.getFileForReplication(fid);
  }
  addFileOn(fid: number, devid: number): Promise<boolean> { return this.f.addFileOn(fid, devid); }
  removeFileOn(fid: number, devid: number): Promise<void> { return this.f.removeFileOn(fid, devid); }
  getChecksum(fid: number): Promise<Checksum | null> { return this.f.getChecksum(fid); }
  setChecksum(fid: number, c: Checksum): Promise<void> { return this.f.setChecksum(fid, c); }

  enqueueReplicate(fid: number, fromdevid: number | null, nexttry: number): Promise<void> {
    return this.r.enqueue(fid, fromdevid, nexttry, unixNow());
  }
  claimReplicateJobs(now: number, limit: number, leaseSeconds: number): Promise<ReplicateJob[]> {
    return this.r.claim(now, limit, leaseSeconds);
  }
  finishReplicate(fid: number): Promise<void> { return this.r.finish(fid, unixNow()); }
  retryReplicate(fid: number, nexttry: number, failcount: number): Promise<void> {
    return this.r.retry(fid, nexttry, failcount, unixNow());
  }
  replicateNow(now?: number): Promise<number> { return this.r.replicateNow(now ?? unixNow()); }
  listFidsOnDevice(devid: number, limit: number): Promise<number[]> { return this.r.listFidsOnDevice(devid, limit); }
  reapDeviceFids(devid: number, limit: number, nexttry: number): Promise<number[]> {
    return this.r.reapDeviceFids(devid, limit, nexttry, unixNow());
  }

  enqueueDelete(fid: number, nexttry: number): Promise<void> { return this.q.enqueueDelete(fid, nexttry); }
  claimDeleteJobs(now: number, limit: number, leaseSeconds: number): Promise<DeleteJob[]> {
    return this.q.claimDeleteJobs(now, limit, leaseSeconds);
  }
  finishDelete(fid: number): Promise<void> { return this.q.finishDelete(fid); }
  deleteJobState(fid: number): Promise<{ live: boolean; devids: number[] }> { return deleteJobState(this.db, fid); }
  finishDeletedFile(fid: number): Promise<boolean> { return finishDeletedFile(this.db, fid); }
  retryDelete(fid: number, nexttry: number, failcount: number): Promise<void> { return this.q.retryDelete(fid, nexttry, failcount); }

  queueDepths(): Promise<{ replicate: number; delete: number }> { return this.q.queueDepths(); }

  private get a(): MysqlAttrs {
    if (!this.attrsImpl) throw new Error('MysqlStore used before init(): open it with openStore()');
    return this.attrsImpl;
  }
  setFileAttrs(fid: number, attrs: Partial<FileAttrs>): Promise<boolean> { return this.a.setFileAttrs(fid, attrs); }
  getFileAttrs(fid: number): Promise<FileAttrs | null> { return this.a.getFileAttrs(fid); }
  getFilesWithAttrs(dmid: number, keys: string[]): Promise<FileWithAttrs[]> { return this.a.filesWithAttrs(dmid, keys); }
  setFileXattr(fid: number, name: string, value: Buffer | null): Promise<boolean> { return this.a.setFileXattr(fid, name, value); }
  getFileXattrs(fid: number): Promise<Map<string, Buffer> | null> { return this.a.getFileXattrs(fid); }
}
