/**
 * Checksums and fsck against real faults, with two trackers on one database
 * and two storage nodes: replicas corrupted on disk (bytes flipped,
 * truncated, deleted), rows lost, a missing checksum row; `mogadm fsck
 * start` (the real CLI) must log each with the original's event code and
 * repair every file it can from a good copy. The walk survives a tracker
 * restart without starting over. create_close refuses a checksum that does
 * not match the upload, and replication refuses to copy a corrupt replica.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { request } from 'undici';
import { forEachEngine, rawSql } from './helpers/engines';
import { mogadm } from './helpers/mogadm';
import { pool, startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';
import { createLogger } from '../src/common/log';
import { startTracker } from '../src/tracker';
import type { Tracker } from '../src/tracker';
import { MogileFSAdmin, MogError } from '../src/client';
import type { MogileFS } from '../src/client';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

interface LogLine { event: string; fid: number; devid: number | null }

/** `mogadm fsck printlog`, parsed: unixtime, event, fid, devid ('-' for none). */
async function printlog(tracker: string): Promise<LogLine[]> {
  const r = await mogadm([`--trackers=${tracker}`, 'fsck', 'printlog']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^unixtime\s+event\s+fid\s+devid/);
  return lines.slice(1).map((l) => {
    const [, event, fid, devid] = l.trim().split(/\s+/);
    return { event: event!, fid: Number(fid), devid: devid === '-' ? null : Number(devid) };
  });
}

async function fsckDone(admin: MogileFSAdmin, timeoutMs = 60_000): Promise<Record<string, string>> {
  let st: Record<string, string> = {};
  await waitFor('the fsck walk to finish', async () => {
    st = await admin.fsckStatus();
    return st.running === '0' && Number(st.stop_time) > 0 && Number(st.max_fid_checked) >= Number(st.end_fid);
  }, timeoutMs);
  return st;
}

forEachEngine((engine) => {
  let c: MultiCluster;
  let cl: MogileFS;
  let admin: MogileFSAdmin;
  const T = (): string => c.addrs[0]!;
  const data = Array.from({ length: 12 }, (_, i) => randomBytes(10_000 + i * 1000));
  const fids: number[] = [];
  let later: Buffer;
  let laterFid = 0;

  const devidsOf = async (key: string): Promise<number[]> => (await cl.fileInfo(key, { devices: true })).devids!;
  const onDisk = async (devid: number, fid: number): Promise<Buffer | null> => fs.readFile(c.fidFile(devid, fid)).catch(() => null);

  before(async () => {
    c = await startMultiCluster({ engine });
    cl = c.client([0, 1]);
    admin = c.admin(0);
    await admin.createClass('default', 'md5', { mindevcount: 2, hashtype: 'MD5' });
    await admin.createClass('default', 'later', { mindevcount: 2 });
    await admin.createClass('default', 'single', { mindevcount: 1, hashtype: 'MD5' });
    const a1 = c.admin(1);
    await waitFor('tracker 1 to see the new classes', async () =>
      (await a1.getDomains()).find((d) => d.name === 'default')!.classes.some((k) => k.name === 'single'));
    const stored = await pool(data, 4, (d, i) => cl.storeBuffer(`f/${i}`, d, { class: 'md5', checksum: true }));
    stored.forEach((r, i) => (fids[i] = r.fid));
    later = randomBytes(7000);
    laterFid = (await cl.storeBuffer('later', later, { class: 'later' })).fid;
    await waitFor('every file on 2 hosts', async () => {
      if ((await c.stores[0]!.queueDepths()).replicate) return false;
      for (const k of [...data.keys()].map((i) => `f/${i}`).concat('later')) {
        const devids = await devidsOf(k);
        if (new Set(devids.map((d) => c.hostOf.get(d))).size !== 2) return false;
      }
      return true;
    }, 60_000);
  });
  after(async () => { await c?.stop(); });

  test('create_close refuses an upload whose checksum does not match (checksumverify=1)', async () => {
    const body = Buffer.from('the bytes actually uploaded');
    const wrong = md5(Buffer.from('something else'));
    const open = await cl.tracker.call('create_open', { domain: 'default', key: 'badsum', class: 'md5' });
    const put = await request(open.path!, { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
    await put.body.dump();
    await assert.rejects(
      cl.tracker.call('create_close', {
        domain: 'default', key: 'badsum', fid: open.fid, devid: open.devid, path: open.path, size: body.length,
        checksum: `MD5:${wrong}`, checksumverify: 1,
      }),
      (e: unknown) => e instanceof MogError && e.code === 'checksum_mismatch' &&
        e.message.includes(`Expected: MD5:${wrong}; actual: MD5:${md5(body)}`),
    );
    await assert.rejects(cl.fileInfo('badsum'), (e: unknown) => e instanceof MogError && e.code === 'unknown_key');
    // The right one is accepted and kept.
    await cl.storeBuffer('goodsum', body, { class: 'md5', checksumVerify: true });
    assert.equal((await cl.fileInfo('goodsum')).checksum, `MD5:${md5(body)}`);
    await waitFor('goodsum replicated', async () => (await devidsOf('goodsum')).length === 2);
  });

  test('fsck finds each corrupted replica with the right event code and repairs it from a good copy', async () => {
    const store = c.stores[0]!;
    const devs = await Promise.all(data.map((_, i) => devidsOf(`f/${i}`)));
    // f/0: bytes flipped on one copy (same length: only the MD5 tells).
    const flipped = devs[0]![0]!;
    const p0 = c.fidFile(flipped, fids[0]!);
    const b0 = await fs.readFile(p0);
    b0[100] ^= 0xff; b0[5000] ^= 0x55;
    await fs.writeFile(p0, b0);
    // f/1: one copy truncated.
    const truncated = devs[1]![1]!;
    await fs.truncate(c.fidFile(truncated, fids[1]!), 4000);
    // f/2: one copy deleted.
    const deleted = devs[2]![0]!;
    await fs.rm(c.fidFile(deleted, fids[2]!));
    // f/3: the database forgot where it is (no file_on rows): found by a search.
    for (const d of devs[3]!) await store.removeFileOn(fids[3]!, d);
    // f/4: every copy deleted: nothing to repair from.
    for (const d of devs[4]!) await fs.rm(c.fidFile(d, fids[4]!));
    // `later`: its class gets a hashtype after it was stored, so it has no checksum row.
    await admin.updateClass('default', 'later', { mindevcount: 2, hashtype: 'MD5' });
    // Both trackers must see the new hashtype before the walk (their layout caches live about a second).
    for (const t of [0, 1]) {
      await waitFor(`tracker ${t} to see the hashtype`, async () => (await c.client([t]).fileInfo('later')).checksum === 'MISSING');
    }

    const start = await mogadm([`--trackers=${T()}`, 'fsck', 'start']);
    assert.equal(start.code, 0, start.stderr);
    const st = await fsckDone(admin);
    assert.ok(Number(st.end_fid) >= Math.max(...fids, laterFid));

    const log = await printlog(T());
    const of = (fid: number): string[] => log.filter((l) => l.fid === fid).map((l) => `${l.event}${l.devid ? `@${l.devid}` : ''}`);
    assert.deepEqual(of(fids[0]!), [`BSUM@${flipped}`, 'REPL']);
    assert.deepEqual(of(fids[1]!), [`BLEN@${truncated}`, 'REPL']);
    assert.deepEqual(of(fids[2]!), [`MISS@${deleted}`, 'REPL']);
    assert.deepEqual(of(fids[3]!), ['NOPA', 'SRCH', 'FOND', 'REPL']);
    assert.deepEqual(of(fids[4]!).sort(), [...devs[4]!.map((d) => `MISS@${d}`), 'SRCH', 'GONE'].sort());
    assert.deepEqual(of(laterFid), ['NSUM']);
    for (let i = 5; i < data.length; i++) assert.deepEqual(of(fids[i]!), [], `f/${i} is sound`);
    // fsck_status counts the walk's events as the original does (num_<evcode>).
    for (const [ev, n] of [['BSUM', 1], ['BLEN', 1], ['NOPA', 1], ['FOND', 1], ['GONE', 1], ['NSUM', 1], ['REPL', 4], ['MISS', 3], ['SRCH', 2]] as const) {
      assert.equal(Number(st[`num_${ev}`]), n, `num_${ev}`);
    }
    const status = await mogadm([`--trackers=${T()}`, 'fsck', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /Running: No/);
    assert.match(status.stdout, /\[num_BSUM\]: 1/);

    // Repaired: every file but the lost one is back on two hosts, every copy with the right bytes.
    const repaired = [0, 1, 2, 3];
    await waitFor('the damaged files re-replicated', async () => {
      for (const i of repaired) {
        const d = await devidsOf(`f/${i}`);
        if (new Set(d.map((x) => c.hostOf.get(x))).size !== 2) return false;
      }
      return true;
    }, 30_000);
    for (let i = 0; i < data.length; i++) {
      if (i === 4) continue;
      for (const d of await devidsOf(`f/${i}`)) {
        const b = await onDisk(d, fids[i]!);
        assert.ok(b && md5(b) === md5(data[i]!), `f/${i} on dev${d} has the right MD5`);
      }
      assert.ok((await cl.getBuffer(`f/${i}`)).equals(data[i]!));
    }
    assert.equal((await cl.fileInfo('later')).checksum, `MD5:${md5(later)}`);

    // A second walk finds nothing more than the file that cannot be saved.
    const s2 = await mogadm([`--trackers=${c.addrs[1]}`, 'fsck', 'start']);
    assert.equal(s2.code, 0, s2.stderr);
    const st2 = await fsckDone(admin);
    const found = Object.keys(st2).filter((k) => k.startsWith('num_')).sort();
    assert.deepEqual(found, ['num_GONE', 'num_MISS', 'num_SRCH']);
    await cl.delete('f/4');
  });

  test('replication does not accept a corrupt copy', async () => {
    const body = randomBytes(50_000);
    const r = await cl.storeBuffer('single', body, { class: 'single', checksum: true });
    const [only] = await devidsOf('single');
    const p = c.fidFile(only!, r.fid);
    const b = await fs.readFile(p);
    b[1234] ^= 0x01;
    await fs.writeFile(p, b);
    // Now it wants two copies: the only source is corrupt, so none may be made.
    await cl.updateClass('single', 'md5');
    // The replicator is woken at once and retries every second or so (backoff [1]): wait until it has refused twice.
    await waitFor('the replicator to refuse the corrupt source twice', async () => {
      const rows = await rawSql(c.db, `SELECT failcount FROM file_to_replicate WHERE fid = ${r.fid}`) as { failcount: number }[];
      return Number(rows[0]?.failcount ?? 0) >= 2;
    }, 20_000);
    assert.deepEqual(await devidsOf('single'), [only]);
    for (const d of c.hostOf.keys()) {
      if (d !== only) assert.equal(await onDisk(d, r.fid), null, `no copy on dev${d}`);
    }
    await cl.delete('single');
  });

  test('the walk resumes after a tracker restart instead of starting over', async (t0) => {
    const extra = Array.from({ length: 60 }, (_, i) => Buffer.from(`resume ${i}\n`.repeat(50)));
    await pool(extra, 4, (d, i) => cl.storeBuffer(`r/${i}`, d));
    await waitFor('replication idle', async () => (await c.stores[0]!.queueDepths()).replicate === 0, 60_000);
    // Slow the walk down: two fids queued at a time, so it cannot end before we stop it.
    await admin.setServerSetting('queue_rate_for_fsck', 2);
    await admin.setServerSetting('queue_size_for_fsck', 2);
    // One tracker walks; it is stopped part way and started again.
    await c.closeTracker(1);
    const total = (await admin.listFids(0, 500)).length;
    assert.ok(total >= 60);
    await admin.fsckReset();
    assert.equal((await mogadm([`--trackers=${T()}`, 'fsck', 'start'])).code, 0);
    const startTime = (await admin.fsckStatus()).start_time;
    await waitFor('a third of the walk', async () => {
      const st = await admin.fsckStatus();
      return Number(st.max_fid_checked) >= fids[0]! + total / 3;
    }, 30_000);
    await c.closeTracker(0);
    const mid = await (await c.db.open()).getSettings();
    const highest = Number(mid.fsck_highest_fid_checked);
    const checkedBefore = Number(mid.fsck_fids_checked);
    assert.ok(mid.fsck_host, 'still running: the walk belongs to the cluster, not the tracker');
    assert.ok(highest < Number(mid.fsck_fid_at_end), 'stopped part way');
    assert.ok(checkedBefore > 0);

    let t: Tracker | null = null;
    const a = (): MogileFSAdmin => new MogileFSAdmin({ trackers: [`127.0.0.1:${t!.port}`] });
    let admin2: MogileFSAdmin | null = null;
    try {
      t = await startTracker({
        store: await c.db.open(),
        log: createLogger('fsck-restart', 'silent'),
        workers: true,
        config: { host: '127.0.0.1', port: 0, monitorIntervalMs: 250, nodeTimeoutMs: 2000 },
        workerOptions: { pollMs: 200 },
      });
      admin2 = a();
      const first = await admin2.fsckStatus();
      assert.ok(Number(first.max_fid_checked) >= highest, 'the position survived the restart');
      assert.equal(first.start_time, startTime);
      const st = await fsckDone(admin2);
      const checked = Number((await admin2.serverSettings()).fsck_fids_checked);
      // Every fid checked once, give or take the few in flight when the tracker stopped.
      assert.ok(checked >= total && checked <= total + 4, `checked ${checked} fids of ${total} (${checkedBefore} before the restart)`);
      assert.ok(checked < checkedBefore + total, 'not rechecked from zero');
      assert.equal(Number(st.max_fid_checked), Number(st.end_fid));
      t0.diagnostic(`stopped at fid ${highest} of ${mid.fsck_fid_at_end} after ${checkedBefore} checks; ${checked} checks in all for ${total} fids`);
    } finally {
      admin2?.close();
      await t?.close();
    }
  });
});
