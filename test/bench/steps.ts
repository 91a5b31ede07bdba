/**
 * Diagnostic companion to bench.ts: one client, one request at a time, so the
 * latency of each step of a store (create_open, PUT, create_close) and of
 * get_paths / noop is visible on its own. `node dist/test/bench/steps.js`
 * (BENCH_DB=sqlite|mysql://..., BENCH_STEPS=N).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { MogileFS } from '../../src/client';
import { parseCreateOpen } from '../../src/client/upload';
import { startCluster, stopCluster } from './cluster';

const N = Number(process.env.BENCH_STEPS ?? 300);

async function main(): Promise<void> {
  const data = await mkdtemp(path.join(os.tmpdir(), 'mogfs-steps-'));
  const { proc, tracker } = await startCluster(process.env.BENCH_DB ?? 'sqlite', data);
  const c = new MogileFS({ trackers: [tracker], domain: 'default' });
  const body = Buffer.alloc(32 * 1024, 0x61);
  const t: Record<string, number> = {};
  const time = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    t[name] = (t[name] ?? 0) + performance.now() - t0;
    return r;
  };
  try {
    for (let i = 0; i < N; i++) {
      await time('noop', () => c.tracker.call('noop'));
      const key = `steps/${i}`;
      const open = await time('create_open', () => c.tracker.call('create_open', { domain: 'default', key, fid: 0, multi_dest: 1, size: body.length }));
      const { fid, dests } = parseCreateOpen(open);
      await time('PUT', async () => {
        const res = await request(dests[0].path, { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
        await res.body.dump();
      });
      await time('create_close', () => c.tracker.call('create_close', { fid, devid: dests[0].devid, domain: 'default', key, path: dests[0].path, size: body.length }));
      await time('storeBuffer', () => c.storeBuffer(`steps/b${i}`, body));
      await time('get_paths', () => c.getPaths(key));
      await time('get_paths noverify', () => c.getPaths(key, { noverify: true }));
    }
    for (const [k, v] of Object.entries(t)) console.log(`${k.padEnd(20)} ${(v / N).toFixed(3)} ms`);
  } finally {
    await c.close();
    await stopCluster(proc);
    await rm(data, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
