/**
 * The delete worker's batching: finishes gathered into groups (a unit test
 * on a fake store), and against real storage nodes and both engines, many
 * deletes at once (a claim's fids looked up in one query, parallel jobs
 * waiting for slots), a fid that names a file again, and a job whose
 * prefetched state no longer holds.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { forEachEngine } from './helpers/engines';
import { startStorageNode } from '../src/storage';
import type { StorageNode } from '../src/storage';
import type { MetadataStore } from '../src/store';
import { createContext } from '../src/tracker/layout';
import type { TrackerContextHandle } from '../src/tracker/layout';
import { startWorkers } from '../src/tracker/workers';
import type { WorkersHandle } from '../src/tracker/workers';
import { claimDeleteJobs, runDeleteJob } from '../src/tracker/workers/delete';
import { defaultWorkerOptions } from '../src/tracker/workers/env';
import { DeletedFileFinisher } from '../src/tracker/workers/finishes';
import { createNodeAgent } from '../src/tracker/workers/http';
import { createLogger } from '../src/common/log';
import { fidPathOnDevice, fidUrl } from '../src/common/fidpath';

const now = (): number => Math.floor(Date.now() / 1000);

async function eventually(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('finishes gathered', () => {
  /** A store whose finishDeletedFiles answers when the test says; fids above 100 are live. */
  function fakeStore() {
    const calls: number[][] = [];
    const pending: Array<() => void> = [];
    const store = {
      finishDeletedFiles(fids: number[]): Promise<Set<number>> {
        calls.push(fids);
        return new Promise((resolve, reject) => {
          pending.push(() => (fids.includes(13) ? reject(new Error('lost the connection')) : resolve(new Set(fids.filter((f) => f <= 100)))));
        });
      },
    };
    const answer = async (): Promise<void> => {
      while (pending.length === 0) await new Promise((r) => setImmediate(r));
      pending.shift()!();
    };
    return { store, calls, answer };
  }

  test('a lone finish goes at once; those that come while it is in flight go together next', async () => {
    const { store, calls, answer } = fakeStore();
    const f = new DeletedFileFinisher(store);
    const first = f.finish(1);
    await answer();
    assert.equal(await first, true);
    assert.deepEqual(calls, [[1]]);

    const a = f.finish(2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [[1], [2]], 'sent without waiting for others');
    const more = [f.finish(3), f.finish(101), f.finish(4)];
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(calls.length, 2, 'nothing more is sent while a group is in flight');
    await answer();
    assert.equal(await a, true);
    await answer();
    assert.deepEqual(await Promise.all(more), [true, false, true], 'a live fid is not finished');
    assert.deepEqual(calls, [[1], [2], [3, 101, 4]]);
  });

  test('finishes of one turn of the event loop go together; a failed group fails only its own', async () => {
    const { store, calls, answer } = fakeStore();
    const f = new DeletedFileFinisher(store);
    const group = [f.finish(12), f.finish(13)];
    await answer();
    for (const p of group) await assert.rejects(p, /lost the connection/);
    const next = f.finish(14);
    await answer();
    assert.equal(await next, true);
    assert.deepEqual(calls, [[12, 13], [14]]);
  });
});

describe('claiming', () => {
  test('a claim carries each job\'s state; if that lookup fails the jobs still come, without it', async () => {
    const jobs = [{ fid: 7, nexttry: 1, failcount: 0 }, { fid: 8, nexttry: 1, failcount: 2 }];
    let fail = false;
    const store = {
      claimDeleteJobs: async () => jobs.map((j) => ({ ...j })),
      deleteJobStates: async (fids: number[]) => {
        if (fail) throw new Error('lost the connection');
        return new Map(fids.map((fid) => [fid, { live: fid === 8, devids: [fid] }]));
      },
    };
    const warned: string[] = [];
    const log = { warn: (_o: unknown, msg: string) => warned.push(msg) };
    const env = { ctx: { store }, log } as unknown as Parameters<typeof claimDeleteJobs>[0];
    assert.deepEqual(await claimDeleteJobs(env, 10, 60), [
      { fid: 7, nexttry: 1, failcount: 0, state: { live: false, devids: [7] } },
      { fid: 8, nexttry: 1, failcount: 2, state: { live: true, devids: [8] } },
    ]);
    fail = true;
    assert.deepEqual(await claimDeleteJobs(env, 10, 60), jobs, 'each job looks up its own fid when it runs');
    assert.equal(warned.length, 1);
  });
});

const HOSTS = [
  { ip: '127.0.0.1', devids: [1, 2] },
  { ip: '127.0.0.2', devids: [3, 4] },
];
const hostOf = (devid: number): number => (devid <= 2 ? 0 : 1);

forEachEngine((_engine, env) => {
  let tmp: string;
  let store: MetadataStore;
  let ctx: TrackerContextHandle;
  let workers: WorkersHandle;
  let dmid: number;
  const nodes: StorageNode[] = [];
  const roots: string[] = [];
  /** What the worker asked the store, by method: the fids of each call. */
  const asked = { states: [] as number[][], state: [] as number[], finishes: [] as number[][] };

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-delete-'));
    for (const [i, h] of HOSTS.entries()) {
      const root = path.join(tmp, `node${i}`);
      for (const devid of h.devids) await fs.mkdir(path.join(root, `dev${devid}`), { recursive: true });
      roots.push(root);
      nodes.push(await startStorageNode({ docroot: root, host: h.ip, httpPort: 0, mgmtPort: null, usageIntervalMs: 200, log: createLogger('node', 'silent') }));
    }
    store = await env.open();
    for (const [i, h] of HOSTS.entries()) {
      const host = await store.createHost({
        hostname: `node${i}`, hostip: h.ip, http_port: nodes[i]!.httpPort, http_get_port: null, status: 'alive', altip: null, altmask: null,
      });
      for (const devid of h.devids) await store.createDevice({ devid, hostid: host.hostid, status: 'alive' });
    }
    dmid = (await store.createDomain('deletes')).dmid;
    // Watch the worker's store calls.
    const { deleteJobStates, deleteJobState, finishDeletedFiles } = store;
    store.deleteJobStates = (fids) => { asked.states.push([...fids]); return deleteJobStates.call(store, fids); };
    store.deleteJobState = (fid) => { asked.state.push(fid); return deleteJobState.call(store, fid); };
    store.finishDeletedFiles = (fids) => { asked.finishes.push([...fids]); return finishDeletedFiles.call(store, fids); };
    // Two jobs at a time: most of a claim's jobs wait for a slot with the state read at the claim.
    ctx = createContext(store, { monitorIntervalMs: 100, nodeTimeoutMs: 1000, deleteJobs: 2 }, createLogger('test', 'silent'));
    workers = startWorkers(ctx, { deleteBackoffSec: [1], pollMs: 200, reaperIntervalMs: 60_000 });
    ctx.setWake(workers.wake);
    await workers.monitorReady;
  });

  after(async () => {
    await workers?.close();
    for (const n of nodes) await n.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  const onDisk = (devid: number, fid: number): Promise<boolean> =>
    fs.access(path.join(roots[hostOf(devid)]!, fidPathOnDevice(devid, fid))).then(() => true, () => false);

  /** A file stored on both hosts (no replication job: its copies are written here). */
  async function storeFile(key: string, devids = [1, 3]): Promise<number> {
    const fid = await store.createTempfile({ dmid, dkey: key, classid: 0, devids: devids.join(','), createtime: now() });
    for (const devid of devids) {
      const h = hostOf(devid);
      const res = await request(fidUrl(HOSTS[h]!.ip, nodes[h]!.httpPort, devid, fid), { method: 'PUT', body: key });
      await res.body.dump();
      assert.ok(res.statusCode >= 200 && res.statusCode < 300, `PUT: HTTP ${res.statusCode}`);
    }
    await store.commitFile({ fid, dmid, dkey: key, length: key.length, classid: 0, devids });
    return fid;
  }

  const reset = (): void => {
    asked.states.length = 0;
    asked.state.length = 0;
    asked.finishes.length = 0;
  };

  test('many deletes at once: every copy and row goes; a claim is looked up in one query', async () => {
    const fids: number[] = [];
    for (let i = 0; i < 40; i++) fids.push(await storeFile(`many/${i}`, i % 2 ? [1, 3] : [2, 4]));
    reset();
    for (const fid of fids) await store.deleteFile(fid);
    ctx.wake('delete');
    await eventually('copies gone', async () => {
      for (const [i, fid] of fids.entries()) for (const devid of i % 2 ? [1, 3] : [2, 4]) if (await onDisk(devid, fid)) return false;
      return true;
    });
    await eventually('delete queue drained', async () => (await store.queueDepths()).delete === 0);
    for (const fid of fids) assert.deepEqual(await store.fileDevids(fid), [], `fid ${fid} rows`);
    const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
    assert.deepEqual(sorted(asked.states.flat()), fids, 'each fid looked up once, with its claim');
    assert.ok(Math.max(...asked.states.map((b) => b.length)) > 1, 'claims looked up together');
    assert.deepEqual(asked.state, [], 'no job looked itself up');
    assert.deepEqual(sorted(asked.finishes.flat()), fids, 'each fid finished once');
  });

  test('a queued delete of a fid that names a file again: the job goes, the copies stay', async () => {
    const fid = await storeFile('live-again');
    reset();
    await store.enqueueDelete(fid, now());
    ctx.wake('delete');
    await eventually('job dropped', async () => (await store.queueDepths()).delete === 0);
    assert.ok(await onDisk(1, fid));
    assert.ok(await onDisk(3, fid));
    assert.deepEqual(await store.fileDevids(fid), [1, 3]);
    assert.deepEqual(asked.state, [fid], 'a fid live at the claim is asked again when its job runs');
    assert.deepEqual(asked.finishes, []);
  });

  test('a job whose fid was live at the claim but was deleted before it ran removes the copies', async () => {
    const fid = await storeFile('deleted-while-waiting');
    // Not due for an hour, so the running worker leaves it to us.
    await store.deleteFile(fid, now() + 3600);
    const agent = createNodeAgent(1000);
    try {
      const job = { fid, nexttry: now() + 3600, failcount: 0, state: { live: true, devids: [1, 3] } };
      await runDeleteJob({ ctx, agent, replicating: new Set(), opts: defaultWorkerOptions, log: createLogger('test', 'silent') }, job);
    } finally {
      await agent.close();
    }
    assert.equal(await onDisk(1, fid), false);
    assert.equal(await onDisk(3, fid), false);
    assert.deepEqual(await store.fileDevids(fid), []);
    assert.equal((await store.queueDepths()).delete, 0);
  });
});
