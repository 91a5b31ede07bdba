/**
 * SqlStore: the MetadataStore, written once over an engine's SqlDb (see
 * conn.ts). The engines subclass it with their connection, their schema and
 * the few paths where MySQL takes a faster road (../mysql/store.ts).
 */
import type { DeleteJobState, MetadataStore } from '../store';
import { DirEntry, listDirectory } from '../listdir';
import { unixNow } from '../keys';
import { chunks } from './lists';
import type {
  Checksum, ClassRow, CommitFile, DeleteJob, DevicePatch, DeviceRow, DomainRow, DomainUsage, FileRow,
  HostPatch, HostRow, NewTempfile, ReplicateJob, TempfileRow,
} from '../types';
import type { FileAttrs, FileWithAttrs } from '../attrs';
import { DavLockTable } from '../davlocks';
import type { FsckStore } from '../fsck';
import type { MoveStore } from '../rebalance';
import type { KeyCodec, SqlDb } from './conn';
import { Attrs } from './attrs';
import { DeleteQueue } from './deletes';
import { Files } from './files';
import { Fsck } from './fsck';
import { Moves } from './moves';
import { Layout } from './layout';
import { ReplicateQueue } from './replicate';

export abstract class SqlStore implements MetadataStore {
  abstract readonly engine: 'sqlite' | 'mysql';
  abstract readonly maxKeyLength: number;
  protected readonly layout: Layout;
  protected readonly replq: ReplicateQueue;
  protected readonly deletes: DeleteQueue;
  private filesImpl: Files | null = null;
  private attrsImpl: Attrs | null = null;
  /** Our WebDAV lock table: taking a lock is a serialized section, so trackers take them one at a time. */
  readonly davLocks: DavLockTable;
  /** fsck's log, queue and position (../fsck.ts). */
  readonly fsck: FsckStore;
  /** Drain and rebalance (../rebalance.ts). */
  readonly moves: MoveStore;

  constructor(protected readonly db: SqlDb) {
    this.layout = new Layout(db);
    this.replq = new ReplicateQueue(db);
    this.deletes = new DeleteQueue(db);
    this.fsck = new Fsck(db);
    this.moves = new Moves(db);
    this.davLocks = new DavLockTable({
      all: (sql, ...p) => db.all(sql, ...p),
      run: (sql, ...p) => db.run(sql, ...p),
      serialized: (fn) => db.serialized('mogfs_dav_lock', (q) => fn(q)),
    });
  }

  abstract init(): Promise<void>;

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Called by init() once the schema says how keys are stored and how long they may be. */
  protected ready(keys: { file: KeyCodec; tempfile: KeyCodec }, maxKeyLength: number): void {
    this.filesImpl = new Files(this.db, keys.file, keys.tempfile, maxKeyLength);
    this.attrsImpl = new Attrs(this.db, keys.file);
  }

  protected get f(): Files {
    if (!this.filesImpl) throw new Error(`the ${this.engine} store was used before init(): open it with openStore()`);
    return this.filesImpl;
  }

  private get a(): Attrs {
    if (!this.attrsImpl) throw new Error(`the ${this.engine} store was used before init(): open it with openStore()`);
    return this.attrsImpl;
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
  setSetting(field: string, value: string): Promise<void> { return this.layout.setSetting(field, value); }

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
    // The listing's upper bound is always the end of `prefix`; scanKeys bounds by the prefix itself (KeyCodec.startsWith).
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
    return this.replq.enqueue(fid, fromdevid, nexttry, unixNow());
  }
  claimReplicateJobs(now: number, limit: number, leaseSeconds: number): Promise<ReplicateJob[]> {
    return this.replq.claim(now, limit, leaseSeconds);
  }
  finishReplicate(fid: number): Promise<void> { return this.replq.finish(fid, unixNow()); }
  async addFileOnAndFinish(fid: number, devid: number): Promise<'finished' | 'gone'> {
    if (!(await this.f.addFileOn(fid, devid))) return 'gone';
    await this.finishReplicate(fid);
    return 'finished';
  }
  retryReplicate(fid: number, nexttry: number, failcount: number): Promise<void> {
    return this.replq.retry(fid, nexttry, failcount, unixNow());
  }
  replicateNow(now?: number): Promise<number> { return this.replq.replicateNow(now ?? unixNow()); }
  listFidsOnDevice(devid: number, limit: number): Promise<number[]> { return this.replq.listFidsOnDevice(devid, limit); }
  reapDeviceFids(devid: number, limit: number, nexttry: number): Promise<number[]> {
    return this.replq.reapDeviceFids(devid, limit, nexttry, unixNow());
  }

  enqueueDelete(fid: number, nexttry: number): Promise<void> { return this.deletes.enqueue(fid, nexttry); }
  claimDeleteJobs(now: number, limit: number, leaseSeconds: number): Promise<DeleteJob[]> {
    return this.deletes.claim(now, limit, leaseSeconds);
  }
  finishDelete(fid: number): Promise<void> { return this.deletes.finish(fid); }
  deleteJobState(fid: number): Promise<DeleteJobState> { return this.deletes.jobState(fid); }
  deleteJobStates(fids: number[]): Promise<Map<number, DeleteJobState>> { return this.deletes.jobStates(fids); }
  async finishDeletedFile(fid: number): Promise<boolean> { return (await this.finishDeletedFiles([fid])).has(fid); }
  async finishDeletedFiles(fids: number[]): Promise<Set<number>> {
    const gone = new Set<number>();
    for (const part of chunks([...new Set(fids)])) {
      for (const fid of await this.finishDeletedChunk(part)) gone.add(fid);
    }
    return gone;
  }
  /** One transaction of finishDeletedFiles (at most MAX_LIST fids, no repeats); MySQL sends it as one batch. */
  protected finishDeletedChunk(part: number[]): Promise<number[]> { return this.deletes.finishDeletedChunk(part); }
  retryDelete(fid: number, nexttry: number, failcount: number): Promise<void> { return this.deletes.retry(fid, nexttry, failcount); }

  queueDepths(): Promise<{ replicate: number; delete: number }> { return this.deletes.depths(); }

  setFileAttrs(fid: number, attrs: Partial<FileAttrs>): Promise<boolean> { return this.a.setFileAttrs(fid, attrs); }
  getFileAttrs(fid: number): Promise<FileAttrs | null> { return this.a.getFileAttrs(fid); }
  getFilesWithAttrs(dmid: number, keys: string[]): Promise<FileWithAttrs[]> { return this.a.filesWithAttrs(dmid, keys); }
  setFileXattr(fid: number, name: string, value: Buffer | null): Promise<boolean> { return this.a.setFileXattr(fid, name, value); }
  getFileXattrs(fid: number): Promise<Map<string, Buffer> | null> { return this.a.getFileXattrs(fid); }
}
