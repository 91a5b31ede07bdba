/**
 * SqliteStore: the embedded MetadataStore, one better-sqlite3 connection per
 * process. better-sqlite3 is synchronous; each call is a few microseconds on
 * indexed rows. Every call goes through `call()`, so one that meets another
 * process's write lock waits off the event loop (SqliteDb.retrying).
 */
import type { MetadataStore } from '../store';
import { DirEntry, listDirectory } from '../listdir';
import { OUR_MAX_KEY_LENGTH, unixNow } from '../keys';
import type {
  Checksum, ClassRow, CommitFile, DeleteJob, DevicePatch, DeviceRow, DomainRow, DomainUsage, FileRow,
  HostPatch, HostRow, NewTempfile, ReplicateJob, TempfileRow,
} from '../types';
import type { FileAttrs, FileWithAttrs } from '../attrs';
import { SqliteAttrs } from './attrs';
import { SqliteDb } from './db';
import { SqliteFiles } from './files';
import { SqliteLayout } from './layout';
import { SqliteQueues } from './queues';
import { SqliteReplicateQueue } from './replicate';
import { createSchema } from './schema';
import { DavLockTable } from '../davlocks';
import { SqliteFsck } from './fsck';
import type { MoveStore } from '../rebalance';
import { SqliteMoves } from './rebalance';

export class SqliteStore implements MetadataStore {
  readonly engine = 'sqlite' as const;
  // SQLite does not enforce VARCHAR lengths, so even a database the original made holds our longer keys.
  readonly maxKeyLength = OUR_MAX_KEY_LENGTH;
  private db: SqliteDb | null = null;
  private closed = false;
  private layout!: SqliteLayout;
  private files!: SqliteFiles;
  private queues!: SqliteQueues;
  private replq!: SqliteReplicateQueue;
  private attrs!: SqliteAttrs;

  /** Our WebDAV lock table; one tracker per SQLite file, so no cross-process section is needed. */
  readonly davLocks = new DavLockTable({
    all: <T>(sql: string, ...p: (string | number | Buffer)[]) => this.call(() => (this.db as SqliteDb).all<T>(sql, ...p)),
    run: (sql: string, ...p: (string | number | Buffer)[]) => this.call(() => (this.db as SqliteDb).run(sql, ...p)),
    serialized: (fn) => fn(),
  });

  readonly fsck = new SqliteFsck((fn) => this.call(() => fn(this.open())));

  /** Drain and rebalance (../rebalance.ts). */
  readonly moves: MoveStore = new SqliteMoves(() => this.open(), (fn) => this.call(fn));

  /** `busyWaitMs`: how long a call waits, off the event loop, for another process's write lock (default 10 s). */
  constructor(readonly path: string, private readonly opts: { busyWaitMs?: number } = {}) {}

  private open(): SqliteDb {
    if (this.closed) throw new Error(`the metadata store ${this.path} is closed`);
    if (!this.db) {
      this.db = new SqliteDb(this.path, this.opts.busyWaitMs);
      this.layout = new SqliteLayout(this.db);
      this.files = new SqliteFiles(this.db, () => this.maxKeyLength);
      this.queues = new SqliteQueues(this.db);
      this.replq = new SqliteReplicateQueue(this.db);
      this.attrs = new SqliteAttrs(this.db);
    }
    return this.db;
  }

  /** Every call goes through here: see SqliteDb.retrying. */
  private call<T>(fn: () => T): Promise<T> {
    return this.open().retrying(fn);
  }

  async init(): Promise<void> {
    await this.call(() => createSchema((this.db as SqliteDb).raw));
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
    this.closed = true;
  }

  private get l(): SqliteLayout { this.open(); return this.layout; }
  private get f(): SqliteFiles { this.open(); return this.files; }
  private get q(): SqliteQueues { this.open(); return this.queues; }
  private get r(): SqliteReplicateQueue { this.open(); return this.replq; }
  private get a(): SqliteAttrs { this.open(); return this.attrs; }

  async listDomains(): Promise<DomainRow[]> { return this.call(() => this.l.listDomains()); }
  async createDomain(namespace: string): Promise<DomainRow> { return this.call(() => this.l.createDomain(namespace)); }
  async deleteDomain(dmid: number): Promise<void> { await this.call(() => this.l.deleteDomain(dmid)); }
  async domainHasFiles(dmid: number): Promise<boolean> { return this.call(() => this.l.domainHasFiles(dmid)); }
  async domainUsage(): Promise<DomainUsage[]> { return this.call(() => this.l.domainUsage()); }

  async listClasses(): Promise<ClassRow[]> { return this.call(() => this.l.listClasses()); }
  async createClass(c: Omit<ClassRow, 'classid'>): Promise<ClassRow> { return this.call(() => this.l.createClass(c)); }
  async updateClass(c: ClassRow): Promise<void> { await this.call(() => this.l.updateClass(c)); }
  async deleteClass(dmid: number, classid: number): Promise<void> { await this.call(() => this.l.deleteClass(dmid, classid)); }
  async classHasFiles(dmid: number, classid: number): Promise<boolean> { return this.call(() => this.l.classHasFiles(dmid, classid)); }

  async listHosts(): Promise<HostRow[]> { return this.call(() => this.l.listHosts()); }
  async createHost(h: Omit<HostRow, 'hostid'> & { hostid?: number }): Promise<HostRow> { return this.call(() => this.l.createHost(h)); }
  async updateHost(hostid: number, patch: HostPatch): Promise<void> { await this.call(() => this.l.updateHost(hostid, patch)); }
  async deleteHost(hostid: number): Promise<void> { await this.call(() => this.l.deleteHost(hostid)); }
  async listDevices(): Promise<DeviceRow[]> { return this.call(() => this.l.listDevices()); }
  async createDevice(d: Pick<DeviceRow, 'devid' | 'hostid' | 'status'> & Partial<DeviceRow>): Promise<DeviceRow> {
    return this.call(() => this.l.createDevice(d));
  }
  async updateDevice(devid: number, patch: DevicePatch): Promise<void> { await this.call(() => this.l.updateDevice(devid, patch)); }

  async getSettings(): Promise<Record<string, string>> { return this.call(() => this.l.getSettings()); }
  async setSetting(field: string, value: string): Promise<void> { await this.call(() => this.l.setSetting(field, value)); }

  async createTempfile(t: NewTempfile): Promise<number> { return this.call(() => this.f.createTempfile(t)); }
  async getTempfile(fid: number): Promise<TempfileRow | null> { return this.call(() => this.f.getTempfile(fid)); }
  async deleteTempfile(fid: number): Promise<void> { await this.call(() => this.f.deleteTempfile(fid)); }
  async listStaleTempfiles(before: number, limit: number): Promise<TempfileRow[]> {
    return this.call(() => this.f.listStaleTempfiles(before, limit));
  }

  async getFile(fid: number): Promise<FileRow | null> { return this.call(() => this.f.getFile(fid)); }
  async getFileByKey(dmid: number, dkey: string): Promise<FileRow | null> { return this.call(() => this.f.getFileByKey(dmid, dkey)); }
  async commitFile(c: CommitFile): Promise<{ replacedFid: number | null }> {
    return this.call(() => this.f.commitFile(c, c.now ?? unixNow()));
  }
  async deleteFile(fid: number, now?: number): Promise<void> { await this.call(() => this.f.deleteFile(fid, now ?? unixNow())); }
  async deleteFileByKey(dmid: number, dkey: string, now?: number): Promise<number | null> { return this.call(() => this.f.deleteFileByKey(dmid, dkey, now ?? unixNow())); }
  async renameFile(dmid: number, from: string, to: string, opts: { replace?: boolean; now?: number } = {}): Promise<number | null> {
    return this.call(() => this.f.renameFile(dmid, from, to, opts.replace === true, opts.now ?? unixNow()));
  }
  async renamePrefix(dmid: number, from: string, to: string): Promise<number> { return this.call(() => this.f.renamePrefix(dmid, from, to)); }
  async updateFileClass(fid: number, classid: number): Promise<void> { await this.call(() => this.f.updateFileClass(fid, classid)); }
  async listKeys(dmid: number, prefix: string, after: string | null, limit: number): Promise<string[]> {
    return this.call(() => this.f.listKeys(dmid, prefix, after, limit));
  }
  async listDirectory(dmid: number, prefix: string, delimiter: string, after: string | null, limit: number): Promise<DirEntry[]> {
    const files = this.f;
    return listDirectory((from, incl, end, n) => this.call(() => files.scanKeys(dmid, from, incl, end, n)), prefix, delimiter, after, limit);
  }
  async listFids(from: number, count: number): Promise<FileRow[]> { return this.call(() => this.f.listFids(from, count)); }

  async fileDevids(fid: number): Promise<number[]> { return this.call(() => this.f.fileDevids(fid)); }
  async getFileWithDevids(dmid: number, dkey: string): Promise<{ file: FileRow; devids: number[] } | null> {
    return this.call(() => this.f.getFileWithDevids(dmid, dkey));
  }
  async getFileForReplication(fid: number): Promise<{ file: FileRow; devids: number[]; checksum: Checksum | null } | null> {
    return this.call(() => this.f.getFileForReplication(fid));
  }
  async addFileOn(fid: number, devid: number): Promise<boolean> { return this.call(() => this.f.addFileOn(fid, devid)); }
  async removeFileOn(fid: number, devid: number): Promise<void> { await this.call(() => this.f.removeFileOn(fid, devid)); }
  async getChecksum(fid: number): Promise<Checksum | null> { return this.call(() => this.f.getChecksum(fid)); }
  async setChecksum(fid: number, c: Checksum): Promise<void> { await this.call(() => this.f.setChecksum(fid, c)); }

  async enqueueReplicate(fid: number, fromdevid: number | null, nexttry: number): Promise<void> {
    await this.call(() => this.r.enqueue(fid, fromdevid, nexttry, unixNow()));
  }
  async claimReplicateJobs(now: number, limit: number, leaseSeconds: number): Promise<ReplicateJob[]> {
    return this.call(() => this.r.claim(now, limit, leaseSeconds));
  }
  async finishReplicate(fid: number): Promise<void> { await this.call(() => this.r.finish(fid, unixNow())); }
  async retryReplicate(fid: number, nexttry: number, failcount: number): Promise<void> {
    await this.call(() => this.r.retry(fid, nexttry, failcount, unixNow()));
  }
  async replicateNow(now?: number): Promise<number> { return this.call(() => this.r.replicateNow(now ?? unixNow())); }
  async listFidsOnDevice(devid: number, limit: number): Promise<number[]> { return this.call(() => this.r.listFidsOnDevice(devid, limit)); }
  async reapDeviceFids(devid: number, limit: number, nexttry: number): Promise<number[]> {
    return this.call(() => this.r.reapDeviceFids(devid, limit, nexttry, unixNow()));
  }

  async enqueueDelete(fid: number, nexttry: number): Promise<void> { await this.call(() => this.q.enqueueDelete(fid, nexttry)); }
  async claimDeleteJobs(now: number, limit: number, leaseSeconds: number): Promise<DeleteJob[]> {
    return this.call(() => this.q.claimDeleteJobs(now, limit, leaseSeconds));
  }
  async finishDelete(fid: number): Promise<void> { await this.call(() => this.q.finishDelete(fid)); }
  async deleteJobState(fid: number): Promise<{ live: boolean; devids: number[] }> { return this.call(() => this.q.deleteJobState(fid)); }
  async finishDeletedFile(fid: number): Promise<boolean> { return this.call(() => this.q.finishDeletedFile(fid)); }
  async retryDelete(fid: number, nexttry: number, failcount: number): Promise<void> {
    await this.call(() => this.q.retryDelete(fid, nexttry, failcount));
  }

  async queueDepths(): Promise<{ replicate: number; delete: number }> { return this.call(() => this.q.queueDepths()); }

  async setFileAttrs(fid: number, attrs: Partial<FileAttrs>): Promise<boolean> { return this.call(() => this.a.setFileAttrs(fid, attrs)); }
  async getFileAttrs(fid: number): Promise<FileAttrs | null> { return this.call(() => this.a.getFileAttrs(fid)); }
  async getFilesWithAttrs(dmid: number, keys: string[]): Promise<FileWithAttrs[]> { return this.call(() => this.a.filesWithAttrs(dmid, keys)); }
  async setFileXattr(fid: number, name: string, value: Buffer | null): Promise<boolean> { return this.call(() => this.a.setFileXattr(fid, name, value)); }
  async getFileXattrs(fid: number): Promise<Map<string, Buffer> | null> { return this.call(() => this.a.getFileXattrs(fid)); }
}
