/**
 * The metadata a tracker keeps, as rows of the original MogileFS schema
 * (schema_version 15+). Column names are the original's so an operator can
 * map each field to the table they know.
 */
import type { FileAttrs } from './attrs';

export interface DomainRow {
  dmid: number;
  namespace: string;
}

/** How much one domain holds (status page). */
export interface DomainUsage {
  dmid: number;
  files: number;
  bytes: number;
}

export interface ClassRow {
  dmid: number;
  classid: number;
  classname: string;
  mindevcount: number;
  /** NULL/'' means the default policy, MultipleHosts(). */
  replpolicy: string | null;
  /** 0/NULL = none, 1 = MD5 (the original's MogileFS::Checksum table). */
  hashtype: number | null;
}

export type HostStatus = 'alive' | 'dead' | 'down' | 'readonly';

export interface HostRow {
  hostid: number;
  status: HostStatus;
  http_port: number;
  http_get_port: number | null;
  hostname: string;
  hostip: string;
  altip: string | null;
  altmask: string | null;
}

export type DeviceStatus = 'alive' | 'dead' | 'down' | 'readonly' | 'drain';

export interface DeviceRow {
  devid: number;
  hostid: number;
  status: DeviceStatus;
  weight: number | null;
  mb_total: number | null;
  mb_used: number | null;
  mb_asof: number | null;
}

export interface FileRow {
  fid: number;
  dmid: number;
  dkey: string;
  length: number;
  classid: number;
  devcount: number;
}

export interface TempfileRow {
  fid: number;
  createtime: number;
  classid: number;
  dmid: number;
  dkey: string;
  /** Comma-separated devids chosen by create_open. */
  devids: string | null;
}

export interface Checksum {
  hashtype: number;
  checksum: Buffer;
}

/** A row of file_to_replicate. */
export interface ReplicateJob {
  fid: number;
  nexttry: number;
  fromdevid: number | null;
  failcount: number;
  flags: number;
}

/** A row of file_to_delete2. */
export interface DeleteJob {
  fid: number;
  nexttry: number;
  failcount: number;
}

export interface NewTempfile {
  /** A client may ask for a specific fid (create_open's optional `fid`). */
  fid?: number;
  dmid: number;
  dkey: string;
  classid: number;
  devids: string;
  createtime: number;
}

export interface CommitFile {
  fid: number;
  dmid: number;
  dkey: string;
  length: number;
  classid: number;
  /** Devices that hold the uploaded copy (file_on rows to create). */
  devids: number[];
  checksum?: Checksum;
  /** Our attributes of the new file (mogfs_file_attr), written in the same transaction. */
  attrs?: Partial<FileAttrs>;
  /** Unix seconds, for the delete-queue row of a replaced fid (default: now). */
  now?: number;
  /**
   * When set, a file_to_replicate row (fromdevid NULL) is upserted with this
   * nexttry in the same transaction, so a crash after commit cannot leave a
   * file that nobody replicates.
   */
  replicateNexttry?: number;
  /**
   * With replicateNexttry: this tracker claims the replication job in the
   * same transaction (a mogfs_replicate_claim row, the queue row's nexttry at
   * the lease's end), as claimReplicateJobs would, so it can run the job at
   * once without a claim query (create_close's hand-off to the replicator).
   */
  replicateLeaseEnd?: number;
}

export type HostPatch = Partial<Omit<HostRow, 'hostid'>>;
export type DevicePatch = Partial<Omit<DeviceRow, 'devid'>>;
