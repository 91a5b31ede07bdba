/**
 * kill -9 of a storage node (a separate mogstored process) while 2000 files
 * are being stored, on three storage hosts with mindevcount 2:
 * - every store that succeeded can be read through the client while the node
 *   is dead, except files whose only copy so far was on the killed node (not
 *   replicated yet when it died); those are counted and must be exactly the
 *   unreadable ones, and a failed store leaves no key;
 * - the node restarted on the same disk (a process crash loses no disk):
 *   the temp files of the uploads it was taking are swept, every file reaches
 *   2 copies and reads back;
 * - killed again and its device marked dead (`mogadm device mark`): every
 *   file is back at 2 copies on the two surviving hosts, whole on disk, and
 *   reads back.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { MogError } from '../src/client';
import type { MogileFS } from '../src/client';
import { isTempName } from '../src/storage';
import { forEachEngine } from './helpers/engines';
import { Processes, killHard, listFiles, seededRandom, startProcCluster } from './helpers/faults';
import type { ProcCluster } from './helpers/faults';
import { mogadm } from './helpers/mogadm';
import { pool, waitFor } from './helpers/multitracker';

const N = 2000;
const KILL_AFTER = 600;
const KILLED = 2; // index of node3 (dev3)

forEachEngine((engine) => {
  const procs = new Processes();
  let c: ProcCluster | null = null;
  after(async () => {
    await c?.close();
    await procs.stopAll();
  });

  test('kill -9 a storage node while 2000 files are stored; restart; then mark its device dead', async () => {
    c = await startProcCluster(procs, {
      engine,
      hosts: [
        { hostname: 'node1', ip: '127.0.0.1', devids: [1] },
        { hostname: 'node2', ip: '127.0.0.2', devids: [2] },
        { hostname: 'node3', ip: '127.0.0.3', devids: [3] },
      ],
    });
    const cl = c.client();
    const rnd = seededRandom(10);
    const data = Array.from({ length: N }, (_, i) => Buffer.alloc(1 + Math.floor(rnd() * 20_000), i % 251));
    const stored = new Set<number>();
    const failed = new Map<number, string>();
    let killing: Promise<void> | null = null;
    await pool(data, 8, async (d, i) => {
      try {
        await cl.storeBuffer(`k/${i}`, d);
        stored.add(i);
      } catch (e) {
        failed.set(i, (e as Error).message);
      }
      if (stored.size === KILL_AFTER && !killing) killing = killHard(c!.hosts[KILLED].proc.daemon);
    });
    await killing;
    assert.ok(killing, 'the node was never killed');
    assert.ok(stored.size >= N - 50, `only ${stored.size} of ${N} stores succeeded: ${[...failed.values()].slice(0, 3).join('; ')}`);
    for (const i of failed.keys()) {
      await assert.rejects(cl.fileInfo(`k/${i}`), (e) => e instanceof MogError && e.code === 'unknown_key', `failed store k/${i} left a key`);
    }

    // The node is dead: what reads, and why the rest does not.
    const onlyOnKilled: number[] = [];
    await pool([...stored], 8, async (i) => {
      try {
        assert.ok((await cl.getBuffer(`k/${i}`)).equals(data[i]));
      } catch (e) {
        const devids = (await cl.fileInfo(`k/${i}`, { devices: true })).devids!;
        assert.deepEqual(devids, [3], `k/${i} unreadable though it has copies on ${devids}: ${(e as Error).message}`);
        onlyOnKilled.push(i);
      }
    });
    const killedRoot = c.hosts[KILLED].docroot;
    const temps = (await listFiles(killedRoot)).filter((f) => isTempName(path.basename(f)));

    // A process crash, not a lost disk: restarted, it sweeps its temp files and the cluster catches up.
    await c.restartHost(KILLED);
    await waitFor('the killed node\'s temp files to be swept', async () => !(await listFiles(killedRoot)).some((f) => isTempName(path.basename(f))), 30_000);
    await atCopies(c, cl, stored, () => true, 'after the restart');
    await readAll(cl, stored, data);

    // Now the disk is lost: killed again and marked dead.
    await killHard(c.hosts[KILLED].proc.daemon);
    const mark = await mogadm([`--trackers=${c.addr}`, 'device', 'mark', 'node3', '3', 'dead']);
    assert.equal(mark.code, 0, mark.stderr);
    await atCopies(c, cl, stored, (devids) => !devids.includes(3) && new Set(devids).size === 2, 'on the survivors');
    for (const i of stored) {
      const info = await cl.fileInfo(`k/${i}`, { devices: true });
      for (const devid of info.devids!) assert.equal((await fs.stat(c.fidFile(devid, info.fid))).size, data[i].length, `k/${i} on dev${devid}`);
    }
    await readAll(cl, stored, data);
    console.log(`fault-kill-storage (${engine}): ${stored.size} stored, ${failed.size} stores failed, ` +
      `${onlyOnKilled.length} unreadable while the node was dead (their one copy was on it), ${temps.length} temp files left by the kill and swept`);
  });
});

/** Every stored file has 2 copies whose devids satisfy `ok`, and nothing waits for replication. */
async function atCopies(c: ProcCluster, cl: MogileFS, stored: Set<number>, ok: (devids: number[]) => boolean, what: string): Promise<void> {
  let bad = 0;
  await waitFor(`every file at 2 copies ${what}`, async () => {
    if ((await c.store.queueDepths()).replicate > 0) return false;
    bad = 0;
    await pool([...stored], 8, async (i) => {
      const info = await cl.fileInfo(`k/${i}`, { devices: true });
      if (info.devids!.length !== 2 || !ok(info.devids!)) bad++;
    });
    return bad === 0;
  }, 180_000).catch((e: Error) => {
    throw new Error(`${e.message} (${bad} files short)`);
  });
}

async function readAll(cl: MogileFS, stored: Set<number>, data: Buffer[]): Promise<void> {
  await pool([...stored], 8, async (i) => assert.ok((await cl.getBuffer(`k/${i}`)).equals(data[i]), `k/${i}`));
}
