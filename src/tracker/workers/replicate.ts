/**
 * The replicate worker: takes fids from file_to_replicate and copies each
 * until its class's replication policy (MultipleHosts) is satisfied, then
 * drops the job; a failed attempt is retried later with backoff. Replaces
 * the original's Replicate worker processes with async jobs in the tracker.
 */
import type { ReplicateJob } from '../../store';
import type { ReplicationFile } from '../context';
import { CopyError, httpCopy } from './copy';
import type { DeviceInfo, DeviceMap } from './devices';
import { canDeleteFrom, canReadFrom, devFidUrl, deviceMap, shouldHaveFiles } from './devices';
import type { WorkerEnv } from './env';
import { deleteOnNode, describeError, sizeOnNode } from './http';
import { classMin, replicateTo } from './policy';
import type { PolicyAnswer } from './policy';
import { backoffSec, nowSec } from './pump';
import { dropMovedCopies, movePlan } from './moves';

/** `finished`: the job's queue row is already dealt with (addFileOnAndFinish). */
type Outcome = { done: true; note: string; finished?: true } | { done: false; reason: string };

/** A claimed job; one handed over by create_close carries the file as just committed. */
export type HandedJob = ReplicateJob & { known?: ReplicationFile };

export async function runReplicateJob(env: WorkerEnv, job: HandedJob): Promise<void> {
  const { store } = env.ctx;
  env.replicating.add(job.fid);
  let outcome: Outcome;
  try {
    outcome = await replicateFid(env, job);
  } catch (err) {
    outcome = { done: false, reason: `internal error: ${describeError(err)}` };
  } finally {
    env.replicating.delete(job.fid);
  }
  if (outcome.done) {
    env.log.debug({ fid: job.fid, note: outcome.note }, 'replication done');
    if (!outcome.finished) await store.finishReplicate(job.fid);
    return;
  }
  const delay = backoffSec(env.opts.replicateBackoffSec, job.failcount);
  env.log.warn(
    { fid: job.fid, failcount: job.failcount + 1, retryInSec: delay },
    `replicating fid ${job.fid} failed: ${outcome.reason}`,
  );
  await store.retryReplicate(job.fid, nowSec() + delay, job.failcount + 1);
}

async function replicateFid(env: WorkerEnv, job: HandedJob): Promise<Outcome> {
  const { store } = env.ctx;
  const { fid, fromdevid, flags } = job;
  const found = job.known ?? (await store.getFileForReplication(fid));
  if (!found) return { done: true, note: 'file no longer exists' };
  const { file, devids, checksum: sum } = found;
  const layout = await env.ctx.layout();
  const { cls, min } = classMin(layout, file.dmid, file.classid);
  const devs = deviceMap(layout, env.ctx.observed);

  if (devids.length === 0) return { done: false, reason: 'no_source: the file is on no device' };
  // Drain and rebalance (moves.ts): a rebalance source is masked and its destinations restricted.
  const plan = await movePlan(env, flags, fromdevid, devs);
  const onDevs = devids.map((id) => devs.get(id)).filter((d): d is DeviceInfo => d !== undefined);
  // Copies the policy counts, and devices we may read a copy from.
  let onPolicy = onDevs.filter((d) => shouldHaveFiles(d) && !plan.mask.has(d.devid));
  let sources = onDevs.filter(canReadFrom).map((d) => d.devid);
  if (sources.length === 0) return { done: false, reason: 'source_down: no device holding the file is readable' };

  let expectMd5 = sum && sum.hashtype === 1 ? sum.checksum : null;
  const classMd5 = cls?.hashtype === 1;

  const failedDest = new Set<number>();
  const failedSrc = new Set<number>();
  let answer: PolicyAnswer;
  let copied = false;
  const current = new Set(devids);
  for (;;) {
    answer = replicateTo({ onDevs: onPolicy, all: plan.dests, failed: failedDest, min, minFreeMb: env.ctx.config.minFreeMb });
    if (answer.kind === 'too_good') {
      const shed = await shedExtraCopy(env, fid, file.length, onPolicy, min);
      if (!shed) break;
      onPolicy = onPolicy.filter((d) => d.devid !== shed);
      current.delete(shed);
      sources = sources.filter((id) => id !== shed);
      continue;
    }
    if (answer.kind !== 'copy') break;
    if (plan.idealOnly && answer.ideal.length === 0) {
      // Rebalance::would_worsen: as the original, the move is dropped (a later rebalance may retry it).
      env.log.warn({ fid, fromdevid }, 'rebalance: no ideal destination for this file; left where it is');
      return { done: true, note: 'would_worsen' };
    }
    const dest = answer.ideal[0] ?? answer.desperate[0];
    if (!dest) break;

    const choices = sources.filter((id) => !failedSrc.has(id));
    if (choices.length === 0) return { done: false, reason: 'source_down: every readable copy failed to read' };
    const sdevid = fromdevid !== null && choices.includes(fromdevid) ? fromdevid : pickSource(choices, devs);
    const src = devs.get(sdevid);
    if (!src) return { done: false, reason: `source device ${sdevid} vanished` };

    let digest: Buffer | null;
    try {
      digest = await httpCopy(env.agent, {
        fid,
        srcUrl: devFidUrl(src, fid),
        destUrl: devFidUrl(dest, fid),
        length: file.length,
        md5: classMd5,
        expectMd5,
        timeoutMs: env.ctx.config.nodeTimeoutMs,
        destSidechannelPort: dest.observed?.sidechannelPort,
      });
    } catch (err) {
      if (!(err instanceof CopyError)) throw err;
      env.log.warn({ fid, sdevid, ddevid: dest.devid, side: err.side }, err.message);
      (err.side === 'src' ? failedSrc : failedDest).add(err.side === 'src' ? sdevid : dest.devid);
      continue;
    }
    // The copy that meets the policy of a plain job (the common case) is
    // recorded and the job finished in one step; otherwise the copy alone.
    const newSum = digest && classMd5 && !expectMd5;
    const last = !newSum && plan.mask.size === 0 && !onDevs.some((d) => d.status === 'drain')
      && replicateTo({ onDevs: [...onPolicy, dest], all: plan.dests, failed: failedDest, min, minFreeMb: env.ctx.config.minFreeMb }).kind === 'all_good';
    // Gone when the file was deleted while we copied: the delete worker may
    // have missed this copy. (The recount finds the row or not, so no second
    // query is needed to ask.)
    const added = last ? await store.addFileOnAndFinish(fid, dest.devid) : (await store.addFileOn(fid, dest.devid)) ? 'added' : 'gone';
    if (added === 'gone') {
      await dropCopy(env, fid, dest);
      return { done: true, note: 'file deleted while replicating' };
    }
    if (added === 'finished') return { done: true, note: 'all_good', finished: true };
    if (newSum && digest) {
      await store.setChecksum(fid, { hashtype: 1, checksum: digest });
      expectMd5 = digest;
    }
    onPolicy.push(dest);
    sources.push(dest.devid);
    copied = true;
    current.add(dest.devid);
  }
  if (answer.kind === 'all_good' || answer.kind === 'too_good') {
    const moved = await dropMovedCopies(env, { fid, length: file.length, devids: [...current], devs, plan, min, copied });
    return moved ?? { done: true, note: answer.kind };
  }
  const tried = failedDest.size ? ` (copies to devids ${[...failedDest].join(',')} failed)` : '';
  return { done: false, reason: `policy_no_suggestions: no writable device can take another copy${tried}` };
}

/** A random readable source, preferring devices our monitor saw writable (healthy). */
function pickSource(choices: number[], devs: DeviceMap): number {
  const healthy = choices.filter((id) => devs.get(id)?.observed?.writable);
  const pool = healthy.length ? healthy : choices;
  return pool[Math.floor(Math.random() * pool.length)]!;
}

/**
 * Over-replicated (e.g. a desperate same-host copy made while a host was
 * down, and the host is back): drop one copy from a host holding two, after
 * checking another copy is intact. Returns the devid dropped, or null.
 */
async function shedExtraCopy(
  env: WorkerEnv,
  fid: number,
  length: number,
  onPolicy: DeviceInfo[],
  min: number,
): Promise<number | null> {
  const perHost = new Map<number, number>();
  for (const d of onPolicy) perHost.set(d.hostid, (perHost.get(d.hostid) ?? 0) + 1);
  const deletable = onPolicy.filter((d) => canDeleteFrom(d) && d.observed?.reachable);
  const doubled = deletable.filter((d) => (perHost.get(d.hostid) ?? 0) > 1);
  const victim = doubled[0] ?? (perHost.size > min ? deletable[0] : undefined);
  if (!victim) return null;
  const keeper = onPolicy.find((d) => d.devid !== victim.devid && canReadFrom(d));
  if (!keeper) return null;
  try {
    if ((await sizeOnNode(env.agent, devFidUrl(keeper, fid), env.ctx.config.nodeTimeoutMs)) !== length) return null;
  } catch {
    return null;
  }
  await dropCopy(env, fid, victim);
  env.log.info({ fid, devid: victim.devid }, 'removed an extra copy of an over-replicated file');
  return victim.devid;
}

/** Remove our copy of a fid from a device; a leftover only wastes space, so failure is logged. */
async function dropCopy(env: WorkerEnv, fid: number, dev: DeviceInfo): Promise<void> {
  await env.ctx.store.removeFileOn(fid, dev.devid);
  const url = devFidUrl(dev, fid);
  try {
    if (!(await deleteOnNode(env.agent, url))) env.log.warn({ fid, url }, 'could not remove a stray copy');
  } catch (err) {
    env.log.warn({ fid, url, err: describeError(err) }, 'could not remove a stray copy');
  }
}
