/**
 * The delete worker: takes fids from file_to_delete2 and removes their bytes
 * from every device that holds them, dropping each file_on row as its copy
 * goes. A device that cannot be reached now is retried later with backoff;
 * a device marked dead holds nothing worth deleting, so only its row goes.
 */
import type { DeleteJob } from '../../store';
import type { DeviceInfo } from './devices';
import { canDeleteFrom, devFidUrl, deviceMap, isPermDead } from './devices';
import type { WorkerEnv } from './env';
import { deleteOnNode, describeError } from './http';
import { backoffSec, nowSec } from './pump';

export async function runDeleteJob(env: WorkerEnv, job: DeleteJob): Promise<void> {
  const { store } = env.ctx;
  const { fid } = job;
  // Being copied by our replicator right now: wait, or the copy would land after the delete.
  if (env.replicating.has(fid)) {
    await store.retryDelete(fid, nowSec() + 1, job.failcount);
    return;
  }
  // A file row with this fid exists again (a fid reused by create_open's
  // explicit fid): its copies are live, not garbage.
  if (await store.getFile(fid)) {
    await store.finishDelete(fid);
    return;
  }
  const devs = deviceMap(await env.ctx.layout(), env.ctx.observed);
  const devids = await store.fileDevids(fid);
  const results = await Promise.all(devids.map((devid) => deleteCopy(env, fid, devid, devs.get(devid))));
  const left = results.filter((r) => r !== null);
  if (left.length === 0) {
    await store.finishDelete(fid);
    return;
  }
  const delay = backoffSec(env.opts.deleteBackoffSec, job.failcount);
  env.log.warn({ fid, retryInSec: delay, failcount: job.failcount + 1 }, `deleting fid ${fid} incomplete: ${left.join('; ')}`);
  await store.retryDelete(fid, nowSec() + delay, job.failcount + 1);
}

/** Removes one copy; returns null when it is gone, else why it is still there. */
async function deleteCopy(env: WorkerEnv, fid: number, devid: number, dev: DeviceInfo | undefined): Promise<string | null> {
  const { store } = env.ctx;
  // An unknown device (row deleted) or one marked dead: nothing to reach.
  if (!dev || isPermDead(dev)) {
    await store.removeFileOn(fid, devid);
    return null;
  }
  if (!canDeleteFrom(dev)) return `dev${devid} is marked ${dev.status} (host ${dev.hostStatus})`;
  if (dev.observed && !dev.observed.reachable) return `dev${devid} is unreachable`;
  const url = devFidUrl(dev, fid);
  try {
    if (!(await deleteOnNode(env.agent, url))) return `DELETE ${url} refused`;
  } catch (err) {
    return `DELETE ${url} failed: ${describeError(err)}`;
  }
  await store.removeFileOn(fid, devid);
  return null;
}
