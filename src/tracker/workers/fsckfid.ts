/**
 * fsck's check of one fid, as the original's check_fid and fix_fid do it:
 * the file must be on some device (else NOPA), meet its class's replication
 * policy (POVI) and have the right devcount (BCNT, recounted on the spot);
 * unless the walk is policy-only, every copy must have the file's length
 * (asked over the storage node's side channel, `size`) and, where the class
 * has a hashtype (or fsck_checksum is MD5), the same MD5 (side channel
 * `md5`: the node reads the file, the bytes do not cross the network). A
 * fid that fails goes through fix: copies that are missing (MISS), of the
 * wrong length (BLEN) or checksum (BSUM) lose their file_on row; with no
 * good copy left, every device is searched (SRCH, then FOND or GONE); a
 * missing checksum row is written from the copies when they agree (NSUM);
 * and a file left short of its policy is queued for replication from a
 * good copy (REPL).
 */
import type { Checksum, FileRow, NewFsckEvent } from '../../store';
import { fileMd5, fileSize, md5TimeoutMs } from '../httpfile';
import type { DeviceInfo, DeviceMap } from './devices';
import { canReadFrom, devFidUrl, deviceMap, isPermDead, shouldHaveFiles } from './devices';
import type { WorkerEnv } from './env';
import { classMin, replicateTo } from './policy';
import { nowSec } from './pump';

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

const HASH_MD5 = 1;

/** What the walk was started with, read from server_settings at each claim. */
export interface WalkOptions {
  policyOnly: boolean;
  /** fsck_checksum: 'class' (the class's hashtype, the default), 'MD5' (every file) or 'off'. */
  checksum: string;
  skipDevcount: boolean;
}

/** A copy could not be reached: check the fid again later rather than call it missing. */
export class Stalled extends Error {}

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

/** Checks one fid (check_fid); throws (Stalled, or a database error) when it must be checked again later. */
export async function checkFid(env: WorkerEnv, fid: number, walk: WalkOptions): Promise<void> {
  const { store } = env.ctx;
  // A copy being made right now would look missing or short: come back to it.
  if (env.replicating.has(fid)) throw new Stalled('being replicated by this tracker');
  const found = await store.getFileForReplication(fid);
  if (!found) return; // deleted since it was queued
  const { file, devids, checksum } = found;
  const layout = await env.ctx.layout();
  const { cls, min } = classMin(layout, file.dmid, file.classid);
  const classAlg = cls?.hashtype === HASH_MD5 ? HASH_MD5 : 0;
  const alg = walk.checksum === 'off' ? 0 : walk.checksum === 'MD5' ? HASH_MD5 : classAlg;
  const now = nowSec();
  const st: FidState = {
    env, fid, file, checksum, alg, classAlg,
    min,
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
    await st.env.ctx.store.fsck.refreshDevcount(st.fid);
    st.log(EV.BAD_COUNT);
  }
  // A class that keeps checksums and has no row for this file: fix writes it (even on a policy-only walk, as the original).
  if (st.alg && st.classAlg && !st.checksum) return fix(st, devids);
  if (walk.policyOnly) return;
  // Checksums are compared by fix, which asks every copy's size on the way: no size round first.
  if (st.alg) return fix(st, devids);

  for (const devid of devids) {
    const dev = st.devs.get(devid);
    if (!dev || isPermDead(dev)) return fix(st, devids);
    const size = await sizeOn(st, dev);
    if (size === null) throw new Stalled(`device ${devid} on ${dev.hostip} could not be reached`);
    if (size !== st.file.length) return fix(st, devids);
  }
}

/** Copies on devices that count, measured against the class's policy (devids_meet_policy). */
function meetsPolicy(st: FidState, devids: number[]): boolean {
  const onDevs = devids.map((id) => st.devs.get(id)).filter((d): d is DeviceInfo => d !== undefined && shouldHaveFiles(d));
  const answer = replicateTo({ onDevs, all: st.devs, failed: new Set(), min: st.min, minFreeMb: st.env.ctx.config.minFreeMb });
  return answer.kind === 'all_good' || answer.kind === 'too_good';
}

/** The copy's size, -1 when the node says it is missing, null when it could not be asked. */
async function sizeOn(st: FidState, dev: DeviceInfo): Promise<number | null> {
  const r = await fileSize(devFidUrl(dev, st.fid), st.env.ctx.config.nodeTimeoutMs, dev.observed?.sidechannelPort);
  if (r.ok) return r.size;
  return r.missing ? -1 : null;
}

/** The copy's MD5 as hex, -1 when the node says it is missing, null when it could not be read. */
async function md5On(st: FidState, dev: DeviceInfo): Promise<string | -1 | null> {
  const r = await fileMd5(devFidUrl(dev, st.fid), md5TimeoutMs(st.env.ctx.config.nodeTimeoutMs, st.file.length), dev.observed?.sidechannelPort);
  if ('digest' in r) return r.digest.toString('hex');
  return 'missing' in r ? -1 : null;
}

/** The slow path (fix_fid): look at every copy, drop the bad ones, search if none is good, re-replicate. */
async function fix(st: FidState, devids: number[]): Promise<void> {
  const { store } = st.env.ctx;
  const good: DeviceInfo[] = [];
  const bad = new Set<number>();
  /** MD5 (hex) -> the devices whose copy has it. */
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
          const hex = await md5On(st, dev);
          if (hex === null) throw new Stalled(`device ${devid} on ${dev.hostip} could not be read`);
          if (hex === -1) {
            // Removed between the two questions.
            if (!desperate) {
              st.log(EV.FILE_MISSING, devid);
              bad.add(devid);
            }
            continue;
          }
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
    if (!(await store.addFileOn(st.fid, good[0]!.devid))) {
      // Deleted while we searched: the row just added would outlive the file.
      await store.removeFileOn(st.fid, good[0]!.devid);
      return;
    }
  }

  const newChecksum = st.alg ? fixChecksums(st, sums, bad) : null;

  for (const devid of bad) {
    st.env.log.warn({ fid: st.fid, devid }, `fsck: removing file_on mapping for fid ${st.fid} on dev${devid}`);
    await store.removeFileOn(st.fid, devid);
  }
  // Written once the bad rows are gone: the copies that remain all have it.
  if (newChecksum) await store.setChecksum(st.fid, newChecksum);

  if (!meetsPolicy(st, await store.fileDevids(st.fid))) {
    const source = good.find((d) => !bad.has(d.devid));
    await store.enqueueReplicate(st.fid, source?.devid ?? null, nowSec());
    st.env.ctx.wake('replicate');
    st.log(EV.RE_REPLICATE);
  }
}

/**
 * The copies' MD5s against the stored checksum (fix_checksums): copies that
 * differ from a stored checksum another copy matches are bad (BSUM, per
 * device, added to `bad`); copies that agree with each other but not with
 * the row leave the row in doubt (BSUM, or BALG for a row of another
 * hashtype), and nothing is dropped; copies that disagree with no row to
 * judge by are MSUM. With no row and one MD5 on every copy, returns the
 * class's row to write (NSUM).
 */
function fixChecksums(st: FidState, sums: Map<string, number[]>, bad: Set<number>): Checksum | null {
  if (sums.size === 0) return null;
  const stored = st.checksum;
  if (sums.size === 1) {
    const [disk] = [...sums.keys()];
    if (stored) {
      if (stored.hashtype !== st.alg) st.log(EV.BAD_HASHTYPE);
      else if (stored.checksum.toString('hex') !== disk) st.log(EV.BAD_CHECKSUM);
      return null;
    }
    if (!st.classAlg) return null;
    st.log(EV.NO_CHECKSUM);
    return { hashtype: st.classAlg, checksum: Buffer.from(disk!, 'hex') };
  }
  const want = stored && stored.hashtype === st.alg ? stored.checksum.toString('hex') : null;
  if (want === null) {
    st.log(EV.MULTI_CHECKSUM);
    return null;
  }
  const matched = sums.has(want);
  for (const [hex, devids] of sums) {
    if (hex === want) continue;
    for (const devid of devids) {
      st.log(EV.BAD_CHECKSUM, devid);
      // No copy is known good: keep them all for an operator to judge.
      if (matched) bad.add(devid);
    }
  }
  return null;
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
