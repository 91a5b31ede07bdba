/**
 * What every part of a tracker shares: the store, its config, its logger, the
 * cached cluster layout, and what this tracker's monitor has observed of each
 * device. Command handlers and background workers both receive one of these.
 */
import type { Logger } from '../common/log';
import type { RecentErrors } from '../common/recent';
import type { OpenUploads } from './uploads';
import type { MetadataStore, DeviceRow, HostRow, DomainRow, ClassRow, Checksum, FileRow, ReplicateJob } from '../store';

export interface TrackerConfig {
  /** Address to listen on (default 127.0.0.1:7001). */
  host: string;
  port: number;
  /** Timeout for HTTP calls to storage nodes, ms (original: node_timeout, 2 s). */
  nodeTimeoutMs: number;
  /** Parallel replication copies per tracker (original: replicate_jobs). */
  replicateJobs: number;
  /**
   * Parallel deletes per tracker (original: delete_jobs). Jobs that run
   * together share their work (one write of removal lines per node, one
   * finishing transaction), so more of them cost less per delete.
   */
  deleteJobs: number;
  /** Monitor round interval, ms. */
  monitorIntervalMs: number;
  /** An open upload (tempfile row) older than this is reaped, seconds. */
  tempfileTimeoutSec: number;
  /**
   * A client connection with no complete request and nothing being answered
   * for this long is closed, ms (idle_timeout; 0 = never, the default: the
   * stock Perl client fails the first request on a connection the tracker
   * closed, so only where every client reconnects, as ours does).
   */
  idleTimeoutMs: number;
  /** A device with less free space than this gets no new files nor replicas, MB (the original's min_free_space). */
  minFreeMb: number;
  /**
   * Serve our `mogfs_*` extension commands (and create_close's attribute
   * arguments). Off, the tracker answers as a stock MogileFS tracker does:
   * unknown_command, attributes ignored.
   */
  extensions: boolean;
}

export const defaultTrackerConfig: TrackerConfig = {
  host: '127.0.0.1',
  port: 7001,
  nodeTimeoutMs: 2000,
  replicateJobs: 8,
  deleteJobs: 32,
  monitorIntervalMs: 2000,
  tempfileTimeoutSec: 3600,
  idleTimeoutMs: 0,
  minFreeMb: 100,
  extensions: true,
};

/** A snapshot of the cluster's layout, reloaded from the store (short TTL, and after our own writes). */
export interface Layout {
  domains: DomainRow[];
  classes: ClassRow[];
  hosts: HostRow[];
  devices: DeviceRow[];
  /** The `default_mindevcount` server setting (a domain's implicit default class), when the layout was read with it. */
  defaultMindevcount?: number;
}

/** What this tracker's monitor saw of one device on its last round. */
export interface ObservedDevice {
  devid: number;
  /** Reachable and its usage file readable. */
  reachable: boolean;
  /** A test write (PUT then DELETE) succeeded. */
  writable: boolean;
  mbTotal: number | null;
  mbUsed: number | null;
  /** unix seconds of the observation */
  asof: number;
  /** The storage node's side channel port, when it advertises one (our mogstored does): size checks go there. */
  sidechannelPort?: number;
}

export interface TrackerContext {
  readonly store: MetadataStore;
  readonly config: TrackerConfig;
  readonly log: Logger;
  /** The current layout (cached briefly). */
  layout(): Promise<Layout>;
  /** Forget the cached layout after a write that changes it. */
  invalidateLayout(): void;
  /** Monitor observations by devid (empty until the first round). */
  readonly observed: Map<number, ObservedDevice>;
  /** Device I/O utilization in percent as the storage nodes report it (workers/iostat.ts), with when. */
  readonly utilization: Map<number, { util: number; at: number }>;
  /** The last warnings and errors this tracker logged (mogfs_stats sends them to the status page). */
  readonly recent: RecentErrors;
  /** Nudge a background worker: there is new work in its queue. */
  wake(worker: 'replicate' | 'delete' | 'monitor' | 'reaper' | 'rebalance' | 'fsck'): void;
  /** Uploads this tracker opened, so their create_close need not read the tempfile row back (uploads.ts). */
  readonly uploads: OpenUploads;
  /** create_close's hand-off of a new file to this tracker's replicator (the workers install it). */
  replicator: ReplicateHandoff;
}

/** A file as the replicator needs it: what getFileForReplication reads. */
export interface ReplicationFile {
  file: FileRow;
  devids: number[];
  checksum: Checksum | null;
}

/**
 * create_close commits a new file with its replication job already claimed
 * by this tracker and runs the job at once, with what it knows of the file:
 * no claim query and no read of the file back (two to six round trips to a
 * MySQL server per stored file). The claim is an ordinary lease, so if this
 * tracker dies the job runs elsewhere when the lease ends.
 */
export interface ReplicateHandoff {
  /** The lease end (unix seconds) to claim with, a worker slot kept for the job; null: queue it as usual. */
  reserve(): number | null;
  /** The commit holding the claim is done: run the job now. */
  take(job: ReplicateJob, known: ReplicationFile): void;
  /** The commit failed: give the slot back. */
  cancel(): void;
}

/** No replicator in this process (workers off): every job goes through the queue. */
export const NO_HANDOFF: ReplicateHandoff = { reserve: () => null, take: () => undefined, cancel: () => undefined };
