/**
 * What fsck keeps in the database, on both engines (sqlite/fsck.ts,
 * mysql/fsck.ts): its event log (`fsck_log`, the original's table), its
 * queue (`file_to_queue` rows of type FSCK, as the original's JobMaster
 * fills it) and its position and state in `server_settings` under the
 * original's keys (fsck_host, fsck_highest_fid_checked, fsck_fid_at_end,
 * fsck_start_time, fsck_stop_time, fsck_opt_policy_only, ...). Everything a
 * tracker needs to carry on a walk another tracker (or its own previous
 * run) started is here, so the walk survives restarts and is shared.
 */

/** file_to_queue.type of fsck jobs (the original's FSCK_QUEUE). */
export const FSCK_QUEUE = 1;

/** The original's server_settings keys. */
export const FSCK_KEYS = {
  host: 'fsck_host',
  highest: 'fsck_highest_fid_checked',
  end: 'fsck_fid_at_end',
  startTime: 'fsck_start_time',
  stopTime: 'fsck_stop_time',
  policyOnly: 'fsck_opt_policy_only',
  fidsChecked: 'fsck_fids_checked',
  startFid: 'fsck_start_fid',
  startMaxLogid: 'fsck_start_maxlogid',
} as const;

/** A row of fsck_log. */
export interface FsckLogRow {
  logid: number;
  utime: number;
  fid: number | null;
  evcode: string;
  devid: number | null;
}

export interface NewFsckEvent {
  utime: number;
  fid: number;
  evcode: string;
  devid?: number | null;
}

/** A claimed fsck job (a file_to_queue row of type FSCK). */
export interface FsckJob {
  fid: number;
  nexttry: number;
  failcount: number;
}

export interface FsckInjectResult {
  /** fsck_host is set: a walk is on. */
  running: boolean;
  /** fids added to the queue by this step. */
  queued: number;
  /** This step ended the walk: every fid up to fsck_fid_at_end is queued and checked (fsck_host cleared, fsck_stop_time set). */
  finished: boolean;
}

export interface FsckStore {
  /** Sets (null: removes) several server_settings at once, in one transaction. */
  updateSettings(patch: Record<string, string | null>): Promise<void>;
  /** Adds `n` to a numeric server setting (missing counts as 0), atomically. */
  incrSetting(field: string, n: number): Promise<void>;
  /** MAX(fid) of the file table, 0 when empty. */
  maxFid(): Promise<number>;
  /** file.devcount set to the fid's file_on rows (the original's update_devcount, for BCNT); nothing when the file is gone. */
  refreshDevcount(fid: number): Promise<void>;

  /**
   * One step of the walk, in one transaction (so trackers sharing the
   * database take turns): when a walk is on and fewer than `maxQueue` fsck
   * jobs are queued, up to `limit` fids above fsck_highest_fid_checked (and
   * not above fsck_fid_at_end) are queued at `now` and the position moved to
   * the last one. When no fid is left and the queue is empty, the walk ends.
   */
  inject(now: number, limit: number, maxQueue: number): Promise<FsckInjectResult>;
  /** Leases up to `limit` due fsck jobs (nexttry pushed to now+leaseSeconds), for this tracker alone. */
  claim(now: number, limit: number, leaseSeconds: number): Promise<FsckJob[]>;
  /** The fid was checked: its job goes. */
  finish(fid: number): Promise<void>;
  /** Check it again at `nexttry` (a device could not be reached). */
  retry(fid: number, nexttry: number, failcount: number): Promise<void>;
  queueLength(): Promise<number>;
  /** Drops every queued fsck job (fsck_reset). */
  clearQueue(): Promise<void>;

  /** Appends events to fsck_log. */
  log(events: NewFsckEvent[]): Promise<void>;
  /** Rows with logid > afterLogid, by logid, at most `limit`. */
  logRows(afterLogid: number, limit: number): Promise<FsckLogRow[]>;
  clearLog(): Promise<void>;
  /** MAX(logid), 0 when the log is empty. */
  maxLogid(): Promise<number>;
  /** Events per evcode among logid > afterLogid. */
  evcodeCounts(afterLogid: number): Promise<Record<string, number>>;
}
