/**
 * The fsck job (the original's Fsck worker, with the JobMaster's queue
 * injection): while a walk is on (fsck_host set by fsck_start), fids are
 * queued from fsck_highest_fid_checked upward in file_to_queue (type FSCK),
 * a step at a time in one transaction, and every tracker sharing the
 * database claims jobs from that queue with a lease, as replicate and
 * delete do. So the walk is shared, and a tracker that stops (or dies)
 * leaves only its leased jobs, which come back.
 *
 * Each fid is checked as the original's check_fid does: the file must be
 * on some device (else NOPA), meet its class's replication policy (POVI),
 * have the right devcount (BCNT), and, unless the walk is policy-only, every
 * copy must have the file's length (asked over the storage node's side
 * channel, `size`) and, where the class has a hashtype (or fsck_checksum is
 * MD5), the same MD5 (side channel `md5`: the node reads the file, the bytes
 * do not cross the network). A fid that fails goes through fix_fid: copies
 * that are missing (MISS), of the wrong length (BLEN) or checksum (BSUM)
 * lose their file_on row; with no good copy left, every device is searched
 * (SRCH, then FOND or GONE); a missing checksum row is written from the
 * copies when they agree (NSUM); and a file left short of its policy is
 * queued for replication from a good copy (REPL).
 */
import { hostname } from 'node:os';
import type { Checksum, FileRow, FsckJob, NewFsckEvent } from '../../store';
import { FSCK_KEYS } from '../../store';
import { fileMd5, fileSize, md5TimeoutMs } from '../httpfile';
import type { DeviceInfo, DeviceMap } from './devices';
import { canReadFrom, devFidUrl, deviceMap, isPermDead, shouldHaveFiles } from './devices';
import type { WorkerEnv } from './env';
import { policyMin, replicateTo } from './policy';
import { backoffSec, JobPump, nowSec } from './pump';

/** The original's event codes (MogileFS::Worker::Fsck). */
export const EV = {
  NO_PATHS: 'NOPA',
  POLICY_VIOLATION: 'POVI',
  FILE_MISSING: 'MISS',
  BAD_LENGTH: 'BLEN',
  CANT_FIX: 'GONE',
  START_SEARCH: 'SRCH',
  FOUND_FID: 'FOND',
  RE_REPLICATE: 'REPL',
  BAD_COUNT: 'BCNT',
  BAD_CHECKSUM: 'BSUM',
  NO_CHECKSUM: 'NSUM',
  MULTI_CHECKSUM: 'MSUM',
  BAD_HASHTYPE: 'BALG',
} as const;

/** The original's DEF_FSCK_QUEUE_MAX and DEF_FSCK_QUEUE_INJECT (server settings queue_size_for_fsck, queue_rate_for_fsck). */
const DEF_QUEUE_MAX = 20_000;
const DEF_QUEUE_INJECT = 1000;
/** A claimed fsck job is ours for this long. */
const LEASE_SEC = 120;
/** Retry schedule for a fid whose copies could not be reached, seconds. */
const STALL_BACKOFF_SEC = [5, 15, 60, 300, 900, 3600];
/** The original's default_mindevcount, for a domain's implicit default class. */
const DEFAULT_MINDEVCOUNT = 2;
const HASH_MD5 = 1;

/** The host name fsck_start records in fsck_host, as the original's MogileFS::Config->hostname. */
export function fsckHostname(): string {
  return hostname();
}

/** A copy could not be reached: check the fid again later rather than call it missing. */
class Stalled extends Error {}

interface WalkOptions {
  policyOnly: boolean;
  /** fsck_checksum: 'class' (the class's hashtype, the default), 'MD5' (every file) or 'off'. */
  checksum: string;
  skipDevcount: boolean;
}

export interface FsckWorker {
  wake(): void;
  close(): Promise<void>;
}

export function startFsck(env: WorkerEnv, ready: Promise<void>, parallel = 4): FsckWorker {
  const { store } = env.ctx;
  let started = false;
  let walk: WalkOptions = { policyOnly: false, checksum: 'class', skipDevcount: false };
  let checked = 0;

  const flushChecked = async (): Promise<void> => {
    if (checked === 0) return;
    const n = checked;
    checked = 0;
    await store.fsck.incrSetting(FSCK_KEYS.fidsChecked, n).catch((err: unknown) => {
      checked += n;
      env.log.warn({ err }, 'fsck: could not record progress');
    });
  };

  const pump = new JobPump<FsckJob>({
    name: 'fsck',
    parallel,
    batch: parallel * 8,
    pollMs: env.opts.pollMs,
    claim: async (limit) => {
      await flushChecked();
      if (!started) return [];
      const settings = await store.getSettings();
      if (!settings[FSCK_KEYS.host]) return [];
      walk = {
        policyOnly: truthy(settings[FSCK_KEYS.policyOnly]),
        checksum: settings.fsck_checksum || 'class',
        skipDevcount: truthy(settings.skip_devcount),
      };
      const now = nowSec();
      const step = await store.fsck.inject(
        now,
        positive(settings.queue_rate_for_fsck) ?? DEF_QUEUE_INJECT,
        positive(settings.queue_size_for_fsck) ?? DEF_QUEUE_MAX,
      );
      if (step.finished) env.log.info('fsck: every fid checked, the walk is done');
      if (!step.running) return [];
      return store.fsck.claim(now, limit, LEASE_SEC);
    },
    run: async (job) => {
      let stalled: string | null = null;
      try {
        await checkFid(env, job.fid, walk);
      } catch (err) {
        stalled = err instanceof Error ? err.message : String(err);
      }
      if (stalled === null) {
        await store.fsck.finish(job.fid);
        checked++;
        return;
      }
      const delay = backoffSec(STALL_BACKOFF_SEC, job.failcount);
      env.log.warn({ fid: job.fid, retryInSec: delay }, `fsck of fid ${job.fid} stalled: ${stalled}`);
      await store.fsck.retry(job.fid, nowSec() + delay, job.failcount + 1);
    },
    // Handed back due now, so the next claim (ours or another tracker's) takes it at once.
    release: (job) => store.fsck.retry(job.fid, nowSec(), job.failcount),
    log: env.log,
  });
  void ready.then(() => {
    started = true;
    pump.wake();
  });
  return {
    wake: () => pump.wake(),
    async close() {
      await pump.close();
      await flushChecked();
    },
  };
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0';
}

function positive(v: string | undefined): number | null {
  const n = Math.trunc(Number(v));
  return Number.isFinite(n) && n > 0 ? n : null;
}

interface FidState {
  env: WorkerEnv;
  fid: number;
  file: FileRow;
  checksum: Checksum | null;
  /** The hashtype copies are checked with (0: none). */
  alg: number;
  /** The class stores a checksum (a missing row is written, NSUM). */
  classAlg: number;
  min: number;
  devs: DeviceMap;
  events: NewFsckEvent[];
  log(evcode: string, devid?: number): void;
}

/** Checks one fid (check_fid); throws Stalled when a copy could not be reached. */
export async function checkFid(env: WorkerEnv, fid: number, walk: WalkOptions): Promise<void> {
  const { store } = env.ctx;
  // A copy being made right now would look missing or short: come back to it.
  if (env.replicating.has(fid)) throw new Stalled('being replicated by this tracker');
  const found = await store.getFileForReplication(fid);
  if (!found) return; // deleted since it was queued
  const { file, devids, checksum } = found;
  const layout = await env.ctx.layout();
  const cls = layout.classes.find((c) => c.dmid === file.dmid && c.classid === file.classid);
  const classAlg = cls?.hashtype === HASH_MD5 ? HASH_MD5 : 0;
  const alg = walk.checksum === 'off' ? 0 : walk.checksum === 'MD5' ? HASH_MD5 : classAlg;
  const now = nowSec();
  const st: FidState = {
    env, fid, file, checksum, alg, classAlg,
    min: policyMin(cls?.replpolicy ?? null, cls?.mindevcount ?? DEFAULT_MINDEVCOUNT),
    devs: deviceMap(layout, env.ctx.observed),
    events: [],
    log(evcode, devid) {
      this.events.push({ utime: now, fid, evcode, devid: devid ?? null });
    },
  };
  try {
    await check(st, devids, walk);
  } finally {
    if (st.events.length > 0) {
      // A file deleted while we looked had its copies removed under us: nothing to report.
      if (await store.getFile(fid)) await store.fsck.log(st.events);
    }
  }
}

async function check(st: FidState, devids: number[], walk: WalkOptions): Promise<void> {
  if (devids.length === 0) {
    st.log(EV.NO_PATHS);
    return fix(st, devids);
  }
  if (!meetsPolicy(st, devids)) {
    st.log(EV.POLICY_VIOLATION);
    return fix(st, devids);
  }
  if (!walk.skipDevcount && devids.length !== st.file.devcount) {
    // The original's maybe_fix_devcount: recount and say so.
    await st.env.ctx.store.addFileOn(st.fid, devids[0]);
    st.log(EV.BAD_COUNT);
  }
  if (st.alg && st.classAlg && !st.checksum) return fix(st, devids);
  if (walk.policyOnly) return;

  for (const devid of devids) {
    const dev = st.devs.get(devid);
    if (!dev || isPermDead(dev)) return fix(st, devids);
    const size = await sizeOn(st, dev);
    if (size === null) throw new Stalled(`device ${devid} on ${dev.hostip} could not be reached`);
    if (size !== st.file.length) return fix(st, devids);
  }
  if (st.alg) return fix(st, devids);
}

/** Copies on devices that count, measured against the class's policy (devids_meet_policy). */
function meetsPolicy(st: FidState, devids: number[]): boolean {
  const onDevs = devids.map((id) => st.devs.get(id)).filter((d): d is DeviceInfo => d !== undefined && shouldHaveFiles(d));
  const answer = replicateTo({ onDevs, all: st.devs, failed: new Set(), min: st.min, minFreeMb: st.env.ctx.config.minFreeMb });
  return answer.kind === 'all_good' || answer.kind === 'too_good';
}

async function sizeOn(st: FidState, dev: DeviceInfo): Promise<number | null> {
  const r = await fileSize(devFidUrl(dev, st.fid), st.env.ctx.config.nodeTimeoutMs, dev.observed?.sidechannelPort);
  if (r.ok) return r.size;
  return r.missing ? -1 : null;
}

async function md5On(st: FidState, dev: DeviceInfo): Promise<Buffer | -1 | null> {
  const r = await fileMd5(devFidUrl(dev, st.fid), md5TimeoutMs(st.env.ctx.config.nodeTimeoutMs, st.file.length), dev.observed?.sidechannelPort);
  if ('digest' in r) return r.digest;
  return 'missing' in r ? -1 : null;
}

/** The slow path (fix_fid): look at every copy, drop the bad ones, search if none is good, re-replicate. */
async function fix(st: FidState, devids: number[]): Promise<void> {
  const { store } = st.env.ctx;
  const good: DeviceInfo[] = [];
  const bad = new Set<number>();
  const sums = new Map<string, number[]>();
  const seen = new Set<number>();

  const look = async (list: number[], desperate: boolean): Promise<void> => {
    for (const devid of list) {
      if (seen.has(devid)) continue;
      seen.add(devid);
      const dev = st.devs.get(devid);
      // A device that is gone or dead holds nothing, whatever its rows say.
      if (!dev || isPermDead(dev)) {
        if (!desperate) bad.add(devid);
        continue;
      }
      const size = await sizeOn(st, dev);
      if (size === null) throw new Stalled(`device ${devid} on ${dev.hostip} could not be reached`);
      if (size === st.file.length) {
        if (st.alg) {
          const digest = await md5On(st, dev);
          if (digest === null) throw new Stalled(`device ${devid} on ${dev.hostip} could not be read`);
          if (digest === -1) {
            // Removed between the two questions.
            if (!desperate) {
              st.log(EV.FILE_MISSING, devid);
              bad.add(devid);
            }
            continue;
          }
          const hex = digest.toString('hex');
          sums.set(hex, [...(sums.get(hex) ?? []), devid]);
        }
        good.push(dev);
        if (desperate) return; // one is enough
        continue;
      }
      // In a search, not being there is the normal case: nothing to log.
      if (!desperate) {
        st.log(size === -1 ? EV.FILE_MISSING : EV.BAD_LENGTH, devid);
        bad.add(devid);
      }
    }
  };

  await look(devids, false);

  if (good.length === 0) {
    st.log(EV.START_SEARCH);
    const everywhere = shuffle([...st.devs.values()].filter((d) => canReadFrom(d) && d.observed?.reachable === true).map((d) => d.devid));
    await look(everywhere, true);
    if (good.length === 0) {
      st.log(EV.CANT_FIX);
      return;
    }
    st.log(EV.FOUND_FID);
    await store.addFileOn(st.fid, good[0]!.devid);
  }

  if (st.alg) fixChecksums(st, sums, good, bad);

  for (const devid of bad) {
    st.env.log.warn({ fid: st.fid, devid }, `fsck: removing file_on mapping for fid ${st.fid} on dev${devid}`);
    await store.removeFileOn(st.fid, devid);
  }
  if (st.alg && st.classAlg && !st.checksum && sums.size === 1) {
    // Written once the bad rows are gone: the copies that remain all have it.
    await store.setChecksum(st.fid, { hashtype: st.classAlg, checksum: Buffer.from([...sums.keys()][0]!, 'hex') });
  }

  const now = await store.fileDevids(st.fid);
  if (!meetsPolicy(st, now)) {
    const source = good.find((d) => !bad.has(d.devid));
    await store.enqueueReplicate(st.fid, source?.devid ?? null, nowSec());
    st.env.ctx.wake('replicate');
    st.log(EV.RE_REPLICATE);
  }
}

/**
 * The copies' MD5s against the stored checksum (fix_checksums): copies that
 * differ from a stored checksum another copy matches are bad (BSUM, per
 * device); copies that agree with each other but not with the row leave the
 * row in doubt (BSUM, or BALG for a row of another hashtype), and nothing
 * is dropped; copies that disagree with no row to judge by are MSUM. With
 * no row and one MD5 on every copy, the class's row is written (NSUM).
 */
function fixChecksums(st: FidState, sums: Map<string, number[]>, good: DeviceInfo[], bad: Set<number>): void {
  if (sums.size === 0) return;
  const stored = st.checksum;
  if (sums.size === 1) {
    const [disk] = [...sums.keys()];
    if (stored) {
      if (stored.hashtype !== st.alg) st.log(EV.BAD_HASHTYPE);
      else if (stored.checksum.toString('hex') !== disk) st.log(EV.BAD_CHECKSUM);
    } else if (st.classAlg) {
      st.log(EV.NO_CHECKSUM);
    }
    return;
  }
  const want = stored && stored.hashtype === st.alg ? stored.checksum.toString('hex') : null;
  if (want === null) {
    st.log(EV.MULTI_CHECKSUM);
    return;
  }
  const matched = sums.has(want);
  for (const [hex, devids] of sums) {
    if (hex === want) continue;
    for (const devid of devids) {
      st.log(EV.BAD_CHECKSUM, devid);
      if (!matched) continue; // no copy is known good: keep them all for an operator to judge
      bad.add(devid);
      const i = good.findIndex((d) => d.devid === devid);
      if (i >= 0) good.splice(i, 1);
    }
  }
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
