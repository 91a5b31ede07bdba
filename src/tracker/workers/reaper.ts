/**
 * The tempfile reaper: an upload that create_open started but no
 * create_close finished within tempfileTimeoutSec leaves a tempfile row and
 * maybe bytes on the chosen devices. Remove both. Bytes we cannot remove now
 * are handed to the delete worker (file_on rows plus a file_to_delete2 job),
 * as the original does, so they are retried with backoff.
 */
import { devFidUrl, deviceMap, isPermDead } from './devices';
import type { WorkerEnv } from './env';
import { deleteOnNode, describeError } from './http';
import { nowSec } from './pump';

const BATCH = 500;

/** One pass; returns how many tempfile rows it removed. */
export async function reapTempfiles(env: WorkerEnv): Promise<number> {
  const { store, config } = env.ctx;
  let reaped = 0;
  for (;;) {
    const stale = await store.listStaleTempfiles(nowSec() - config.tempfileTimeoutSec, BATCH);
    if (stale.length === 0) return reaped;
    const devs = deviceMap(await env.ctx.layout(), env.ctx.observed);
    for (const t of stale) {
      // create_close won the race: the bytes are a real file now.
      if (await store.getFile(t.fid)) {
        await store.deleteTempfile(t.fid);
        reaped++;
        continue;
      }
      const devids = /^\d+(,\d+)*$/.test(t.devids ?? '') ? t.devids!.split(',').map(Number) : [];
      const left: number[] = [];
      await Promise.all(
        devids.map(async (devid) => {
          const dev = devs.get(devid);
          if (!dev || isPermDead(dev)) return;
          const url = devFidUrl(dev, t.fid);
          try {
            if (await deleteOnNode(env.agent, url)) return;
          } catch (err) {
            env.log.debug({ url, err: describeError(err) }, 'reaper: DELETE failed');
          }
          left.push(devid);
        }),
      );
      if (left.length) {
        for (const devid of left) await store.addFileOn(t.fid, devid);
        await store.enqueueDelete(t.fid, nowSec());
        env.ctx.wake('delete');
      }
      await store.deleteTempfile(t.fid);
      reaped++;
    }
    if (stale.length < BATCH) return reaped;
  }
}

export interface Reaper {
  close(): Promise<void>;
}

/** Runs a pass now and then every intervalMs. */
export function startReaper(env: WorkerEnv): Reaper {
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const pass = (): void => {
    running = reapTempfiles(env)
      .then((n) => {
        if (n) env.log.info({ reaped: n }, 'reaped abandoned uploads');
      })
      .catch((err: unknown) => env.log.error({ err }, 'tempfile reaper pass failed; will try again'))
      .finally(() => {
        if (!closed) timer = setTimeout(pass, env.opts.reaperIntervalMs);
      });
  };
  pass();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
