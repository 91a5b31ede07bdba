/**
 * The delete worker: takes fids from file_to_delete2 and removes their bytes
 * from every device that holds them, dropping each file_on row as its copy
 * goes. A device that cannot be reached now is retried later with backoff;
 * a device marked dead holds nothing worth deleting, so only its row goes.
 * The database work is batched across jobs: one state query per claim, and
 * the last step of jobs that end close together in one group (finishes.ts).
 */
import type { DeleteJob, DeleteJobState, MetadataStore } from '../../store';
import type { DeviceInfo } from './devices';
import { canDeleteFrom, devFidUrl, deviceMap, isPermDead } from './devices';
import type { WorkerEnv } from './env';
import { DeletedFileFinisher } from './finishes';
import { deleteOnNode, describeError } from './http';
import { backoffSec, nowSec } from './pump';
import { sideChannelDelete, sideChannelTarget } from '../sidechannel';

/** A claimed job, with its fid's state as the claim found it (none if that lookup failed). */
export interface DeleteWork extends DeleteJob {
  state?: DeleteJobState;
}

/**
 * Claims due jobs and looks up all their fids in one query. The state stays
 * good while a job waits for a free slot: the lease keeps the job ours; a
 * queued fid cannot be given out again (create_open's fid= refuses it); a
 * copy added meanwhile is dropped by whoever added it, as it finds the file
 * deleted; and a fid that was live is looked at again when its job runs.
 */
export async function claimDeleteJobs(env: WorkerEnv, limit: number, leaseSec: number): Promise<DeleteWork[]> {
  const { store } = env.ctx;
  const jobs = await store.claimDeleteJobs(nowSec(), limit, leaseSec);
  if (jobs.length === 0) return jobs;
  try {
    const states = await store.deleteJobStates(jobs.map((j) => j.fid));
    return jobs.map((j) => ({ ...j, state: states.get(j.fid) }));
  } catch (err) {
    env.log.warn({ err }, 'looking up claimed delete jobs failed; each job looks up its own fid');
    return jobs;
  }
}

/** One finisher per store, so the parallel jobs of a worker share it. */
const finishers = new WeakMap<MetadataStore, DeletedFileFinisher>();

function finisherOf(store: MetadataStore): DeletedFileFinisher {
  let f = finishers.get(store);
  if (!f) finishers.set(store, (f = new DeletedFileFinisher(store)));
  return f;
}

export async function runDeleteJob(env: WorkerEnv, job: DeleteWork): Promise<void> {
  const { store } = env.ctx;
  const { fid } = job;
  // Being copied by our replicator right now: wait, or the copy would land after the delete.
  if (env.replicating.has(fid)) {
    await store.retryDelete(fid, nowSec() + 1, job.failcount);
    return;
  }
  // A file row with this fid again (a fid reused by create_open's explicit
  // fid) means its copies are live, not garbage; else where they are. A fid
  // live at the claim is asked again: deleted since, it queued this job anew.
  let state = job.state;
  if (!state || state.live) state = await store.deleteJobState(fid);
  if (state.live) {
    await store.finishDelete(fid);
    return;
  }
  const devs = deviceMap(await env.ctx.layout(), env.ctx.observed);
  const results = await Promise.all(state.devids.map(async (devid) => ({ devid, left: await deleteCopy(env, fid, devid, devs.get(devid)) })));
  const left = results.filter((r) => r.left !== null);
  // Every copy gone: its rows and the job go in one transaction, with other jobs' that end now.
  if (left.length === 0 && await finisherOf(store).finish(fid)) return;
  if (left.length === 0) {
    await store.finishDelete(fid);
    return;
  }
  // Some copies remain: the rows of those that went go now, the rest wait for the retry.
  for (const r of results) if (r.left === null) await store.removeFileOn(fid, r.devid);
  const delay = backoffSec(env.opts.deleteBackoffSec, job.failcount);
  env.log.warn({ fid, retryInSec: delay, failcount: job.failcount + 1 }, `deleting fid ${fid} incomplete: ${left.map((r) => r.left).join('; ')}`);
  await store.retryDelete(fid, nowSec() + delay, job.failcount + 1);
}

/** Removes one copy (its file_on row is the caller's); returns null when it is gone, else why it is still there. */
async function deleteCopy(env: WorkerEnv, fid: number, devid: number, dev: DeviceInfo | undefined): Promise<string | null> {
  // An unknown device (row deleted) or one marked dead: nothing to reach.
  if (!dev || isPermDead(dev)) return null;
  if (!canDeleteFrom(dev)) return `dev${devid} is marked ${dev.status} (host ${dev.hostStatus})`;
  if (dev.observed && !dev.observed.reachable) return `dev${devid} is unreachable`;
  const url = devFidUrl(dev, fid);
  // Our mogstored deletes over its side channel, a line on a kept connection instead of a request.
  const port = dev.observed?.sidechannelPort;
  const at = port ? sideChannelTarget(url) : null;
  if (port && at && (await sideChannelDelete(at.host, port, at.uri, env.ctx.config.nodeTimeoutMs)) !== null) return null;
  try {
    if (!(await deleteOnNode(env.agent, url))) return `DELETE ${url} refused`;
  } catch (err) {
    return `DELETE ${url} failed: ${describeError(err)}`;
  }
  return null;
}
