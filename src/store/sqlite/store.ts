/**
 * SqliteStore: the embedded MetadataStore, one better-sqlite3 connection per
 * process. better-sqlite3 is synchronous; each call is a few microseconds on
 * indexed rows, so the async wrappers only keep the interface uniform.
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
    all: async <T>(sql: string, ...p: (string | number | Buffer)[]) => { this.open(); return (this.db as SqliteDb).all<T>(sql, ...p); },
    run: async (sql: string, ...p: (string | number | Buffer)[]) => { this.open(); return (this.db as SqliteDb).run(sql, ...p); },
    serialized: (fn) => fn(),
  });

  constructor(readonly path: string) {}

  private open(): SqliteDb {
    if (this.closed) throw new Error(`the metadata store ${this.path} is closed`);
    if (!this.db) {
      this.db = new SqliteDb(this.path);
      this.layout = new SqliteLayout(this.db);
      this.files = new SqliteFiles(this.db, () => this.maxKeyLength);
      this.queues = new SqliteQueues(this.db);
      this.replq = new SqliteReplicateQueue(this.db);
      this.attrs = new SqliteAttrs(this.db);
    }
    return this.db;
  }

  async init(): Promise<void> {
    createSchema(this.open().raw);
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

  async listDomains(): Promise<DomainRow[]> { return this.l.listDomains(); }
  async createDomain(namespace: string): Promise<DomainRow> { return this.l.createDomain(namespace); }
  async deleteDomain(dmid: number): Promise<void> { this.l.deleteDomain(dmid); }
  async domainHasFiles(dmid: number): Promise<boolean> { return this.l.domainHasFiles(dmid); }
  async domainUsage(): Promise<DomainUsage[]> { return this.l.domainUsage(); }

  async listClasses(): Promise<ClassRow[]> { return this.l.listClasses(); }
  async createClass(c: Omit<ClassRow, 'classid'>): Promise<ClassRow> { return this.l.createClass(c); }
  async updateClass(c: ClassRow): Promise<void> { this.l.updateClass(c); }
  async deleteClass(dmid: number, classid: number): Promise<void> { this.l.deleteClass(dmid, classid); }
  async classHasFiles(dmid: number, classid: number): Promise<boolean> { return this.l.classHasFiles(dmid, classid); }

  async listHosts(): Promise<HostRow[]> { return this.l.listHosts(); }
  async createHost(h: Omit<HostRow, 'hostid'> & { hostid?: number }): Promise<HostRow> { return this.l.createHost(h); }
  async updateHost(hostid: number, patch: HostPatch): Promise<void> { this.l.updateHost(hostid, patch); }
  async deleteHost(hostid: number): Promise<void> { this.l.deleteHost(hostid); }
  async listDevices(): Promise<DeviceRow[]> { return this.l.listDevices(); }
  async createDevice(d: Pick<DeviceRow, 'devid' | 'hostid' | 'status'> & Partial<DeviceRow>): Promise<DeviceRow> {
    return this.l.createDevice(d);
  }
  async updateDevice(devid: number, patch: DevicePatch): Promise<void> { this.l.updateDevice(devid, patch); }

  async getSettings(): Promise<Record<string, string>> { return this.l.getSettings(); }
  async setSetting(field: string, value: string): Promise<void> { this.l.setSetting(field, value); }

  async createTempfile(t: NewTempfile): Promise<number> { return this.f.createTempfile(t); }
  async getTempfile(fid: number): Promise<TempfileRow | null> { return this.f.getTempfile(fid); }
  async deleteTempfile(fid: number): Promise<void> { this.f.deleteTempfile(fid); }
  async listStaleTempfiles(before: number, limit: number): Promise<TempfileRow[]> {
    return this.f.listStaleTempfiles(before, limit);
  }

  async getFile(fid: number): Promise<FileRow | null> { return this.f.getFile(fid); }
  async getFileByKey(dmid: number, dkey: string): Promise<FileRow | null> { return this.f.getFileByKey(dmid, dkey); }
  async commitFile(c: CommitFile): Promise<{ replacedFid: number | null }> {
    return this.f.commitFile(c, c.now ?? unixNow());
  }
  async deleteFile(fid: number, now?: number): Promise<void> { this.f.deleteFile(fid, now ?? unixNow()); }
  async renameFile(dmid: number, from: string, to: string, opts: { replace?: boolean; now?: number } = {}): Promise<number | null> {
    return this.f.renameFile(dmid, from, to, opts.replace === true, opts.now ?? unixNow());
  }
  async renamePrefix(dmid: number, from: string, to: string): Promise<number> { return this.f.renamePrefix(dmid, from, to); }
  async updateFileClass(fid: number, classid: number): Promise<void> { this.f.updateFileClass(fid, classid); }
  async listKeys(dmid: number, prefix: string, after: string | null, limit: number): Promise<string[]> {
    return this.f.listKeys(dmid, prefix, after, limit);
  }
  async listDirectory(dmid: number, prefix: string, delimiter: string, after: string | null, limit: number): Promise<DirEntry[]> {
    const files = this.f;
    return listDirectory(async (from, incl, end, n) => files.scanKeys(dmid, from, incl, end, n), prefix, delimiter, after, limit);
  }
  async listFids(from: number, count: number): Promise<FileRow[]> { return this.f.listFids(from, count); }

  async fileDevids(fid: number): Promise<number[]> { return this.f.fileDevids(fid); }
  async getFileWithDevids(dmid: number, dkey: string): Promise<{ file: FileRow; devids: number[] } | null> {
    return this.f.getFileWithDevids(dmid, dkey);
  }
  async getFileForReplication(fid: number): Promise<{ file: FileRow; devids: number[]; checksum: Checksum | null } | null> {
    return this.f.getFileForReplication(fid);
  }
  async addFileOn(fid: number, devid: number): Promise<boolean> { return this.f.addFileOn(fid, devid); }
  async removeFileOn(fid: number, devid: number): Promise<void> { this.f.removeFileOn(fid, devid); }
  async getChecksum(fid: number): Promise<Checksum | null> { return this.f.getChecksum(fid); }
  async setChecksum(fid: number, c: Checksum): Promise<void> { this.f.setChecksum(fid, c); }

  async enqueueReplicate(fid: number, fromdevid: number | null, nexttry: number): Promise<void> {
    this.r.enqueue(fid, fromdevid, nexttry, unixNow());
  }
  async claimReplicateJobs(now: number, limit: number, leaseSeconds: number): Promise<ReplicateJob[]> {
    return this.r.claim(now, limit, leaseSeconds);
  }
  async finishReplicate(fid: number): Promise<void> { this.r.finish(fid, unixNow()); }
  async retryReplicate(fid: number, nexttry: number, failcount: number): Promise<void> {
    this.r.retry(fid, nexttry, failcount, unixNow());
  }
  async replicateNow(now?: number): Promise<number> { return this.r.replicateNow(now ?? unixNow()); }
  async listFidsOnDevice(devid: number, limit: number): Promise<number[]> { return this.r.listFidsOnDevice(devid, limit); }
  async reapDeviceFids(devid: number, limit: number, nexttry: number): Promise<number[]> {
    return this.r.reapDeviceFids(devid, limit, nexttry, unixNow());
  }

  async enqueueDelete(fid: number, nexttry: number): Promise<void> { this.q.enqueueDelete(fid, nexttry); }
  async claimDeleteJobs(now: number, limit: number, leaseSeconds: number): Promise<DeleteJob[]> {
    return this.q.claimDeleteJobs(now, limit, leaseSeconds);
  }
  async finishDelete(fid: number): Promise<void> { this.q.finishDelete(fid); }
  async retryDelete(fid: number, nexttry: number, failcount: number): Promise<void> {
    this.q.retryDelete(fid, nexttry, failcount);
  }

  async queueDepths(): Promise<{ replicate: number; delete: number }> { return this.q.queueDepths(); }

  async setFileAttrs(fid: number, attrs: Partial<FileAttrs>): Promise<boolean> { return this.a.setFileAttrs(fid, attrs); }
  async getFileAttrs(fid: number): Promise<FileAttrs | null> { return this.a.getFileAttrs(fid); }
  async getFilesWithAttrs(dmid: number, keys: string[]): Promise<FileWithAttrs[]> { return this.a.filesWithAttrs(dmid, keys); }
  async setFileXattr(fid: number, name: string, value: Buffer | null): Promise<boolean> { return this.a.setFileXattr(fid, name, value); }
  async getFileXattrs(fid: number): Promise<Map<string, Buffer> | null> { return this.a.getFileXattrs(fid); }
}
