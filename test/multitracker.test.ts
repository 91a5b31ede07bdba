/**
 * Several trackers on one database (the mission's "scales out"): two
 * trackers with their own workers share one metadata store (a MySQL
 * database, or one SQLite file opened twice in this process) and two
 * storage nodes. What one tracker writes, the other serves; layout changes
 * made through one reach the other's caches within the layout TTL; fids are
 * never handed out twice. Load, deletes and failover: multitracker-load.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { MogError } from '../src/client';
import { forEachEngine } from './helpers/engines';
import { LineClient } from './helpers/tracker';
import { startMultiCluster, waitFor } from './helpers/multitracker';
import type { MultiCluster } from './helpers/multitracker';

const isCode = (code: string) => (e: unknown): boolean => {
  assert.ok(e instanceof MogError, `expected MogError(${code}), got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};

/** The devids one create_open (multi_dest) on `lc` offers. */
async function offeredDevids(lc: LineClient, domain = 'default'): Promise<number[]> {
  const r = await lc.ok('create_open', { domain, key: `probe/${Math.random()}`, multi_dest: 1 });
  const out: number[] = [];
  for (let i = 1; i <= Number(r.dev_count); i++) out.push(Number(r[`devid_${i}`]));
  return out;
}

/** Devids offered by `n` create_opens. */
async function offeredOver(lc: LineClient, n: number): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) for (const d of await offeredDevids(lc)) seen.add(d);
  return seen;
}

forEachEngine((engine) => {
  let c: MultiCluster;
  const lines: LineClient[] = [];
  const line = async (i: number): Promise<LineClient> => {
    const lc = await LineClient.connect(c.trackers[i]!.port);
    lines.push(lc);
    return lc;
  };
  before(async () => { c = await startMultiCluster({ engine }); });
  after(async () => {
    for (const l of lines) l.close();
    await c?.stop();
  });

  test('a file stored through tracker A is read, listed, located and renamed through tracker B', async () => {
    const a = c.client([0]);
    const b = c.client([1]);
    const data = randomBytes(200_000);
    const r = await a.storeBuffer('shared/one.bin', data);

    const info = await b.fileInfo('shared/one.bin', { devices: true });
    assert.equal(info.fid, r.fid);
    assert.equal(info.length, data.length);
    assert.ok((await b.getPaths('shared/one.bin')).length >= 1);
    assert.deepEqual(await b.getBuffer('shared/one.bin'), data);
    assert.deepEqual((await b.listKeys('shared/')).keys, ['shared/one.bin']);

    // Whichever tracker's replicator takes the job, B reports both copies.
    await waitFor('2 copies on distinct hosts, seen through B', async () => {
      const i = await b.fileInfo('shared/one.bin', { devices: true });
      return i.devcount === 2 && new Set(i.devids!.map((d) => c.hostOf.get(d))).size === 2;
    });
    assert.equal((await b.getPaths('shared/one.bin')).length, 2);

    await b.rename('shared/one.bin', 'shared/two.bin');
    assert.deepEqual(await a.getBuffer('shared/two.bin'), data);
    await assert.rejects(a.fileInfo('shared/one.bin'), isCode('unknown_key'));
  });

  test('an upload opened on A is closed on B: the open upload lives in the database', async () => {
    const la = await line(0);
    const lb = await line(1);
    const open = await la.ok('create_open', { domain: 'default', key: 'shared/split.bin', multi_dest: 1 });
    const body = randomBytes(50_000);
    const put = await request(open.path_1, { method: 'PUT', body });
    await put.body.dump();
    assert.ok(put.statusCode >= 200 && put.statusCode < 300, `PUT answered ${put.statusCode}`);
    await lb.ok('create_close', {
      domain: 'default', key: 'shared/split.bin', fid: open.fid, devid: open.devid_1, path: open.path_1, size: body.length,
    });
    assert.deepEqual(await c.client([0]).getBuffer('shared/split.bin'), body);
    assert.equal((await c.client([0]).fileInfo('shared/split.bin')).fid, Number(open.fid));
  });

  test('create_open on both trackers at once never hands out one fid twice', async () => {
    const conns = await Promise.all([0, 1, 0, 1, 0, 1, 0, 1].map((i) => line(i)));
    const perConn = await Promise.all(conns.map(async (lc, ci) => {
      const fids: number[] = [];
      for (let k = 0; k < 50; k++) {
        const r = await lc.ok('create_open', { domain: 'default', key: `fids/${ci}/${k}`, multi_dest: 1 });
        fids.push(Number(r.fid));
      }
      return fids;
    }));
    const all = perConn.flat();
    assert.equal(all.length, 400);
    assert.ok(all.every((f) => Number.isSafeInteger(f) && f > 0));
    assert.equal(new Set(all).size, all.length, 'a fid was handed out twice');
    // Nor is any of them the fid of a stored file.
    const stored = await c.client([1]).fileInfo('shared/two.bin');
    assert.ok(!all.includes(stored.fid));
    // Both trackers really took part.
    assert.ok(perConn[0].length === 50 && perConn[1].length === 50);
  });

  test('domain and class changes made on A reach B (its cached layout) within the TTL', async () => {
    const adA = c.admin(0);
    const adB = c.admin(1);
    const bPhotos = c.client([1], { domain: 'photos' });
    await assert.rejects(bPhotos.storeBuffer('t0', Buffer.from('x')), isCode('unreg_domain'));

    await adA.createDomain('photos');
    await adA.createClass('photos', 'thumbs', { mindevcount: 1 });
    // B's create_open uses its cached layout: once the cache expires it knows the class.
    await waitFor('B to accept a store into photos/thumbs', async () => {
      await bPhotos.storeBuffer('t1', Buffer.from('thumb'), { class: 'thumbs' });
      return true;
    }, 10_000);
    assert.equal((await c.client([0], { domain: 'photos' }).fileInfo('t1')).class, 'thumbs');

    await adA.updateClass('photos', 'thumbs', { mindevcount: 3 });
    await waitFor('B get_domains to show mindevcount 3', async () => {
      const d = (await adB.getDomains()).find((x) => x.name === 'photos');
      return d?.classes.find((k) => k.name === 'thumbs')?.mindevcount === 3;
    }, 10_000);

    await bPhotos.delete('t1');
    await adA.deleteClass('photos', 'thumbs');
    await waitFor('B to refuse class thumbs', async () => {
      try {
        await bPhotos.storeBuffer('t2', Buffer.from('x'), { class: 'thumbs' });
        return false;
      } catch (e) {
        if (e instanceof MogError && e.code === 'unreg_class') return true;
        throw e;
      }
    }, 10_000);
    await bPhotos.delete('t2').catch(() => undefined);
    await adA.deleteDomain('photos');
    await waitFor('B to refuse domain photos', async () => {
      try {
        await bPhotos.storeBuffer('t3', Buffer.from('x'));
        return false;
      } catch (e) {
        if (e instanceof MogError && e.code === 'unreg_domain') return true;
        throw e;
      }
    }, 10_000);
  });

  test('host and device state changes made on A steer B\'s device choice within the TTL', async () => {
    const adA = c.admin(0);
    const lb = await line(1);
    assert.ok((await offeredOver(lb, 30)).has(2), 'B should offer dev2 before it is made readonly');

    await adA.setState('node1', 2, 'readonly');
    await waitFor('B to stop offering dev2', async () => !(await offeredOver(lb, 30)).has(2), 10_000);
    assert.ok(!(await offeredOver(lb, 30)).has(2), 'B offered readonly dev2 again');
    await adA.setState('node1', 2, 'alive');
    await waitFor('B to offer dev2 again', async () => (await offeredOver(lb, 30)).has(2), 15_000);

    await adA.updateHost('node2', { status: 'down' });
    await waitFor('B to stop offering node2 devices', async () => {
      const seen = await offeredOver(lb, 30);
      return !seen.has(3) && !seen.has(4);
    }, 10_000);
    await adA.updateHost('node2', { status: 'alive' });
    await waitFor('B to offer node2 devices again', async () => {
      const seen = await offeredOver(lb, 30);
      return seen.has(3) || seen.has(4);
    }, 15_000);

    // A host and device registered on A are listed by B.
    await adA.createHost('node3', { ip: '127.0.0.3', port: 1, status: 'down' });
    await adA.createDevice({ devid: 5, hostname: 'node3', state: 'down' });
    const adB = c.admin(1);
    assert.ok((await adB.getHosts()).some((h) => h.hostname === 'node3' && h.hostip === '127.0.0.3'));
    assert.ok((await adB.getDevices()).some((d) => d.devid === 5 && d.status === 'down'));
    await adA.setState('node3', 5, 'dead');
    await adA.updateHost('node3', { status: 'dead' });
  });
});
