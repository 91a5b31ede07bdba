/**
 * MetadataStore: everything a tracker reads or writes in its database, behind
 * one interface with interchangeable engines (sqlite, mysql). Every method is
 * one short transaction; nothing here caches, so several trackers can share
 * one database.
 */
import type {
  Checksum, ClassRow, CommitFile, DeleteJob, DevicePatch, DeviceRow, DomainRow, DomainUsage, FileRow,
  HostPatch, HostRow, NewTempfile, ReplicateJob, TempfileRow,
} from './types';
import type { DirEntry } from './listdir';
import type { FileAttrs, FileWithAttrs } from './attrs';

import type { DavLockTable } from './davlocks';
import type { SlaveReads } from './replicas';
import type { FsckStore } from './fsck';
import type { MoveStore } from './rebalance';

/** What the delete worker needs to know of a queued fid: whether a file row has it again, and the devices holding copies. */
export interface DeleteJobState {
  live: boolean;
  devids: number[];
}

export interface MetadataStore {
  readonly engine: 'sqlite' | 'mysql';
  /** Longest key, in bytes, the file table holds: 1024 on our schema, 255 on the original's. */
  readonly maxKeyLength: number;

  /** Create or upgrade the schema; safe to run any number of times, on ours or the original's. */
  init(): Promise<void>;
  close(): Promise<void>;

  // --- domains (MogError: domain_exists) ---
  listDomains(): Promise<DomainRow[]>;
  createDomain(namespace: string): Promise<DomainRow>;
  deleteDomain(dmid: number): Promise<void>;
  domainHasFiles(dmid: number): Promise<boolean>;
  /**
   * Files and bytes per domain (domains without files left out), for the
   * status page: one grouped scan of the file table, so callers cache it.
   */
  domainUsage(): Promise<DomainUsage[]>;

  // --- classes (MogError: class_exists) ---
  listClasses(): Promise<ClassRow[]>;
  /**
   * classid assigned as max(classid)+1 within the domain, as the original does;
   * a class named 'default' is stored as classid 0 (the original's way of
   * overriding the implicit default class's mindevcount).
   */
  createClass(c: Omit<ClassRow, 'classid'>): Promise<ClassRow>;
  updateClass(c: ClassRow): Promise<void>;
  deleteClass(dmid: number, classid: number): Promise<void>;
  classHasFiles(dmid: number, classid: number): Promise<boolean>;

  // --- hosts and devices (MogError: host_exists, ip_exists, existing_devid as the original) ---
  listHosts(): Promise<HostRow[]>;
  /** hostid assigned as max(hostid)+1 when not given. */
  createHost(h: Omit<HostRow, 'hostid'> & { hostid?: number }): Promise<HostRow>;
  updateHost(hostid: number, patch: HostPatch): Promise<void>;
  deleteHost(hostid: number): Promise<void>;
  listDevices(): Promise<DeviceRow[]>;
  createDevice(d: Pick<DeviceRow, 'devid' | 'hostid' | 'status'> & Partial<DeviceRow>): Promise<DeviceRow>;
  updateDevice(devid: number, patch: DevicePatch): Promise<void>;

  // --- server_settings ---
  getSettings(): Promise<Record<string, string>>;
  setSetting(field: string, value: string): Promise<void>;

  // --- tempfile (open uploads) ---
  /** Returns the fid (auto-increment unless given; MogError fid_in_use if taken). */
  createTempfile(t: NewTempfile): Promise<number>;
  getTempfile(fid: number): Promise<TempfileRow | null>;
  deleteTempfile(fid: number): Promise<void>;
  /** Open uploads created before `before` (unix seconds), oldest first. */
  listStaleTempfiles(before: number, limit: number): Promise<TempfileRow[]>;

  // --- files ---
  getFile(fid: number): Promise<FileRow | null>;
  getFileByKey(dmid: number, dkey: string): Promise<FileRow | null>;
  /**
   * create_close, atomically: the file row (devcount = devids.length), its
   * file_on rows and checksum are written, the tempfile row removed, and an
   * older file under the same key is removed and queued for deletion.
   * Returns the replaced fid, if any. MogError no_temp_file when the tempfile
   * row is gone (closed twice, or reaped), fid_exists when the key already
   * points at this fid, key_too_long past maxKeyLength.
   */
  commitFile(f: CommitFile): Promise<{ replacedFid: number | null }>;
  /**
   * Removes the file row, its checksum and any tempfile row, and queues the
   * fid in file_to_delete2 with nexttry `now` (default: the clock). file_on
   * rows stay: the delete worker needs them to find the copies.
   */
  deleteFile(fid: number, now?: number): Promise<void>;
  /** delete by key in one transaction (and on MySQL one round trip): the fid deleted, or null when the key names none. */
  deleteFileByKey(dmid: number, dkey: string, now?: number): Promise<number | null>;
  /**
   * MogError unknown_key if `from` is missing, key_exists if `to` is taken.
   * With `replace`, a file under `to` is removed instead (queued for deletion
   * at `now`, as a replacing upload would) in the same transaction, so the
   * rename is atomic as POSIX rename(2) is. Resolves to the replaced fid.
   */
  renameFile(dmid: number, from: string, to: string, opts?: { replace?: boolean; now?: number }): Promise<number | null>;
  /**
   * Every key starting with `from` is renamed to start with `to` instead, in
   * one transaction (a directory rename for the bridge). MogError key_exists
   * when any key starts with `to`, key_too_long when a new key would not fit.
   * Resolves to the number of keys renamed (0: nothing starts with `from`).
   */
  renamePrefix(dmid: number, from: string, to: string): Promise<number>;
  updateFileClass(fid: number, classid: number): Promise<void>;
  /** Keys starting with `prefix`, greater than `after`, in byte order, at most `limit`. */
  listKeys(dmid: number, prefix: string, after: string | null, limit: number): Promise<string[]>;
  /**
   * One directory level under `prefix` (see listdir.ts): keys without
   * `delimiter` after the prefix, and each deeper subtree once as its common
   * prefix, in byte order, after `after` (a key or a common prefix), at most
   * `limit`. Costs one index seek per subtree, not a walk of every key below.
   */
  listDirectory(dmid: number, prefix: string, delimiter: string, after: string | null, limit: number): Promise<DirEntry[]>;
  /** Files with fid > from, by fid, at most `count`. */
  listFids(from: number, count: number): Promise<FileRow[]>;

  // --- file_on (which device holds which fid) ---
  fileDevids(fid: number): Promise<number[]>;
  /** getFileByKey and fileDevids in one query (get_paths' hot path): devids in ascending order. */
  getFileWithDevids(dmid: number, dkey: string): Promise<{ file: FileRow; devids: number[] } | null>;
  /** getFile, fileDevids and getChecksum in one query (each replication starts with it). */
  getFileForReplication(fid: number): Promise<{ file: FileRow; devids: number[]; checksum: Checksum | null } | null>;
  /**
   * Adds a file_on row and refreshes file.devcount; no error if it already
   * exists. Resolves true when the file row is still there (the recount
   * found it): a replicator that gets false knows the file was deleted while
   * it copied, without asking again.
   */
  addFileOn(fid: number, devid: number): Promise<boolean>;
  /** Removes a file_on row and refreshes file.devcount. */
  removeFileOn(fid: number, devid: number): Promise<void>;
  getChecksum(fid: number): Promise<Checksum | null>;
  setChecksum(fid: number, c: Checksum): Promise<void>;

  // --- file_to_replicate (and our mogfs_replicate_claim: which jobs are running) ---
  /**
   * Upsert: an existing row keeps the earlier nexttry. A job some tracker
   * has claimed and whose lease has not run out keeps its nexttry (so no
   * second tracker starts copying the same fid) and is flagged instead: its
   * finishReplicate/retryReplicate makes it due again at once.
   */
  enqueueReplicate(fid: number, fromdevid: number | null, nexttry: number): Promise<void>;
  /**
   * Claims up to `limit` jobs due at `now` for this tracker alone: their
   * nexttry is pushed to now+leaseSeconds and the claim recorded in the same
   * transaction, so another tracker sharing the database does not take them too.
   */
  claimReplicateJobs(now: number, limit: number, leaseSeconds: number): Promise<ReplicateJob[]>;
  /** Removes the job, or makes it due now if it was re-queued while claimed. */
  finishReplicate(fid: number): Promise<void>;
  /**
   * The copy that completes a claimed job: addFileOn, then finishReplicate,
   * in one round trip where the engine can. `finished`: the copy is
   * recorded and the job is removed (or due again, if it was re-queued while
   * claimed). `gone`: the file was deleted while it was copied; as with
   * addFileOn's false, the row is the caller's to drop, and so is the job.
   */
  addFileOnAndFinish(fid: number, devid: number): Promise<'finished' | 'gone'>;
  /** Reschedules the job and drops its claim; due now instead if it was re-queued while claimed. */
  retryReplicate(fid: number, nexttry: number, failcount: number): Promise<void>;
  /**
   * replicate_now: every deferred job (nexttry after `now`, default the
   * clock) that no tracker is running becomes due now. Returns how many.
   */
  replicateNow(now?: number): Promise<number>;
  /** Up to `limit` fids with a file_on row on `devid` (index file_on(devid)), in no set order. */
  listFidsOnDevice(devid: number, limit: number): Promise<number[]>;
  /**
   * The dead-device reaper's step, one transaction: up to `limit` fids on
   * `devid` are queued for replication (as enqueueReplicate, at `nexttry`),
   * their file_on rows on `devid` removed and devcount refreshed. Returns
   * the fids reaped; fewer than `limit` means the device holds nothing more.
   * Several trackers may run it at once (MySQL: SKIP LOCKED).
   */
  reapDeviceFids(devid: number, limit: number, nexttry: number): Promise<number[]>;

  // --- file_to_delete2 ---
  enqueueDelete(fid: number, nexttry: number): Promise<void>;
  claimDeleteJobs(now: number, limit: number, leaseSeconds: number): Promise<DeleteJob[]>;
  finishDelete(fid: number): Promise<void>;
  /** The delete worker's first look at a fid, in one query: does a file row have it (again), and where are its copies. */
  deleteJobState(fid: number): Promise<DeleteJobState>;
  /** deleteJobState of a claimed batch in one query (up to 1024 fids): an entry for every fid asked. */
  deleteJobStates(fids: number[]): Promise<Map<number, DeleteJobState>>;
  /**
   * Every copy of a deleted fid is gone: its file_on rows and its queue row
   * go, in one transaction (one round trip on MySQL). Nothing is removed if a
   * file row has the fid again. False in that case.
   */
  finishDeletedFile(fid: number): Promise<boolean>;
  /**
   * finishDeletedFile of several fids at once (one transaction, one round
   * trip on MySQL, per 1024 fids), each by the same rule. Resolves to the
   * fids whose rows went: all but those a file row has again.
   */
  finishDeletedFiles(fids: number[]): Promise<Set<number>>;
  retryDelete(fid: number, nexttry: number, failcount: number): Promise<void>;

  queueDepths(): Promise<{ replicate: number; delete: number }>;

  // --- mogfs_file_attr: our own table (attrs.ts), keyed by fid, removed with the file row ---
  /**
   * Upserts the attributes of a stored file; fields left undefined keep their
   * value. Returns false, writing nothing, when `fid` is no stored file.
   */
  setFileAttrs(fid: number, attrs: Partial<FileAttrs>): Promise<boolean>;
  /** null when `fid` is no stored file; all-null attributes when it has none. */
  getFileAttrs(fid: number): Promise<FileAttrs | null>;
  /** The file rows of `keys` in one query, with attributes, in the order given; missing keys are left out. */
  getFilesWithAttrs(dmid: number, keys: string[]): Promise<FileWithAttrs[]>;

  // --- mogfs_file_xattr: our own table of extended attributes (user.*), keyed by fid and name ---
  /** Sets (or with `value` null removes) one extended attribute; false, writing nothing, when `fid` is no stored file. */
  setFileXattr(fid: number, name: string, value: Buffer | null): Promise<boolean>;
  /** null when `fid` is no stored file. */
  getFileXattrs(fid: number): Promise<Map<string, Buffer> | null>;

  /** mogfs_dav_lock: the WebDAV locks every bridge process of the cluster honours. */
  readonly davLocks: DavLockTable;

  /** fsck's log, queue and position in server_settings (fsck.ts). */
  readonly fsck: FsckStore;

  /** Drain and rebalance: device fid chunks, move jobs, the injector's exclusive section (rebalance.ts). */
  readonly moves: MoveStore;

  // --- read replicas (replicas.ts): call slavesOk(store), not this ---
  /** MySQL: read-only queries that may go to a replica (the original's slaves_ok); absent: the store answers. */
  readonly slavesOk?: SlaveReads;
}
