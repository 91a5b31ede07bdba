/**
 * create_close hands a new file's replication straight to the tracker's
 * replicator: the job is claimed in the commit's own transaction and run
 * with what create_close knows of the file, so no claim query and no read
 * of the file back; the copy that meets the policy is recorded and the job
 * finished in one step. What must still hold: the copies are made, a class
 * change during the copy still gets its re-check, and a file deleted
 * during the copy leaves no copy behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { eurl } from '../src/protocol';
import type { MetadataStore } from '../src/store';
import type { Tracker } from '../src/tracker';
import { forEachEngine } from './helpers/engines';
import { waitFor } from './helpers/multitracker';
import { LineClient, okArgs, startTestCluster, startTestTracker } from './helpers/tracker';
import type { TestCluster } from './helpers/tracker';

forEachEngine((_engine, env) => {
  let store: MetadataStore;
  let tracker: Tracker;
  let cluster: TestCluster;
  let admin: LineClient;
  let other: Tracker;
  let otherAdmin: LineClient;
  const tempRead = new Set<number>();
  const claimed = new Set<number>();
  const readBack = new Set<number>();
  const finishedInOne = new Set<number>();
  let stallFid = -1;
  let stalled: (() => void) | null = null;
  let release: Promise<void> = Promise.resolve();

  before(async () => {
    store = await env.open();
    const setup = await startTestTracker(store);
    admin = await LineClient.connect(setup.port);
    cluster = await startTestCluster(admin, 3, 1);
    await admin.ok('create_domain', { domain: 'ho' });
    await admin.ok('create_class', { domain: 'ho', class: 'two', mindevcount: '2' });
    await admin.ok('create_class', { domain: 'ho', class: 'three', mindevcount: '3' });
    admin.close();
    await setup.close();
    // What the replicator asks the store, by fid.
    const claim = store.claimReplicateJobs.bind(store);
    store.claimReplicateJobs = async (now, limit, lease) => {
      const jobs = await claim(now, limit, lease);
      for (const j of jobs) claimed.add(j.fid);
      return jobs;
    };
    const read = store.getFileForReplication.bind(store);
    store.getFileForReplication = async (fid) => {
      readBack.add(fid);
      return read(fid);
    };
    const finish = store.addFileOnAndFinish.bind(store);
    store.addFileOnAndFinish = async (fid, devid) => {
      if (fid === stallFid) {
        stalled?.();
        await release;
      }
      const r = await finish(fid, devid);
      if (r === 'finished') finishedInOne.add(fid);
      return r;
    };
    const getTempfile = store.getTempfile.bind(store);
    store.getTempfile = async (fid) => {
      tempRead.add(fid);
      return getTempfile(fid);
    };
    tracker = await startTestTracker(store, { workers: true, config: { monitorIntervalMs: 200 } });
    admin = await LineClient.connect(tracker.port);
    // A second tracker on the same database, knowing nothing of the first one's uploads.
    other = await startTestTracker(store);
    otherAdmin = await LineClient.connect(other.port);
  });
  after(async () => {
    admin.close();
    otherAdmin.close();
    await other.close();
    await tracker.close();
    await cluster.close();
  });

  /** Stores `key` as a stock client does; `opened` runs once the fid is known, before the upload. */
  async function storeFile(key: string, cls: string, body: string, opened?: (fid: number) => void): Promise<number> {
    const open = okArgs(await admin.send(`create_open domain=ho&class=${cls}&key=${eurl(key)}&fid=0&multi_dest=1`));
    opened?.(Number(open.fid));
    const put = await request(open.path_1, { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
    await put.body.dump();
    assert.equal(put.statusCode, 201);
    const close = `create_close fid=${open.fid}&devid=${open.devid_1}&domain=ho&size=${body.length}&key=${eurl(key)}&path=${eurl(open.path_1)}`;
    assert.equal(await admin.send(close), 'OK ');
    return Number(open.fid);
  }

  /** The next handed-over copy of the file stored next stops at its record step until the returned function is called. */
  function stallNext(): { reached: Promise<void>; go: () => void; opened: (fid: number) => void } {
    let go!: () => void;
    release = new Promise((r) => { go = r; });
    let reachedFn!: () => void;
    const reached = new Promise<void>((r) => { reachedFn = r; });
    stalled = reachedFn;
    const timeout = new Promise<void>((_, rej) => setTimeout(() => rej(new Error('the copy never reached its record step')), 20_000).unref());
    return { reached: Promise.race([reached, timeout]), go, opened: (fid) => { stallFid = fid; } };
  }

  const devcount = async (fid: number): Promise<number> => (await store.getFile(fid))?.devcount ?? -1;

  test('a stored file is replicated without a claim query or a read back, and finished with its last copy', async () => {
    const fid = await storeFile('plain', 'two', 'p'.repeat(3000));
    await waitFor('two copies', async () => (await devcount(fid)) === 2, 20_000);
    await waitFor('the job to go', async () => (await store.queueDepths()).replicate === 0, 20_000);
    assert.ok(!claimed.has(fid), 'the job went through a claim query');
    assert.ok(!readBack.has(fid), 'the replicator read the file back');
    assert.ok(!tempRead.has(fid), 'create_close read back the tempfile row create_open wrote on this tracker');
    assert.ok(finishedInOne.has(fid), 'the last copy and the finish were not one step');
    const paths = okArgs(await admin.send('get_paths domain=ho&key=plain&noverify=1&pathcount=3'));
    assert.equal(paths.paths, '2');
    for (const u of [paths.path1, paths.path2]) assert.equal(await (await request(u)).body.text(), 'p'.repeat(3000));
  });

  test('a class change while the handed-over copy is being recorded still gets its re-check (a third copy)', async () => {
    const st = stallNext();
    const fid = await storeFile('grows', 'two', 'g'.repeat(2000), st.opened);
    await st.reached;
    assert.equal(await admin.send('updateclass domain=ho&key=grows&class=three'), 'OK ');
    st.go();
    await waitFor('three copies', async () => (await devcount(fid)) === 3, 30_000);
    await waitFor('the job to go', async () => (await store.queueDepths()).replicate === 0, 20_000);
  });

  test('a file deleted while its handed-over copy is made leaves no copy behind', async () => {
    const st = stallNext();
    const fid = await storeFile('doomed', 'two', 'd'.repeat(2500), st.opened);
    await st.reached;
    const where = await store.fileDevids(fid);
    assert.equal(await admin.send('delete domain=ho&key=doomed'), 'OK ');
    st.go();
    await waitFor('every copy gone', async () => {
      const layout = await store.listDevices();
      const hosts = await store.listHosts();
      const codes = await Promise.all(layout.map(async (d) => {
        const h = hosts.find((x) => x.hostid === d.hostid)!;
        const res = await request(`http://${h.hostip}:${h.http_port}/dev${d.devid}/0/000/000/${String(fid).padStart(10, '0')}.fid`, { method: 'HEAD' });
        await res.body.dump();
        return res.statusCode;
      }));
      return codes.every((c) => c === 404);
    }, 30_000);
    assert.equal(where.length, 1, 'only the upload was recorded when the file was deleted');
    await waitFor('the queues to empty', async () => {
      const q = await store.queueDepths();
      return q.replicate === 0 && q.delete === 0;
    }, 20_000);
  });

  test('an upload remembered by one tracker but closed on another is never abandoned by the first (the file stays)', async () => {
    const body = 'k'.repeat(1500);
    const open = okArgs(await admin.send('create_open domain=ho&class=two&key=kept&fid=0&multi_dest=1'));
    const put = await request(open.path_1, { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
    await put.body.dump();
    const args = `fid=${open.fid}&devid=${open.devid_1}&domain=ho&size=${body.length}&path=${eurl(open.path_1)}`;
    assert.equal(await otherAdmin.send(`create_close ${args}&key=kept`), 'OK ');
    // The first tracker still remembers the upload as open: a close without a key there means "discard it".
    assert.match(await admin.send(`create_close ${args}`), /^ERR no_temp_file /);
    assert.equal((await store.getFileByKey((await store.listDomains()).find((d) => d.namespace === 'ho')!.dmid, 'kept'))?.fid, Number(open.fid));
    const paths = okArgs(await admin.send('get_paths domain=ho&key=kept&noverify=0'));
    assert.equal(await (await request(paths.path1)).body.text(), body);
  });

  test('a tracker that closes while create_close commits hands the claimed job back due now, not at its lease end', async () => {
    // A tracker of its own, so closing it leaves the others running.
    const t = await startTestTracker(store, { workers: true, config: { monitorIntervalMs: 200 } });
    const c = await LineClient.connect(t.port);
    try {
      const body = 'c'.repeat(1200);
      const open = okArgs(await c.send('create_open domain=ho&class=two&key=closing&fid=0&multi_dest=1'));
      const put = await request(open.path_1, { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
      await put.body.dump();
      // The commit (holding the claim) is slow; the tracker closes meanwhile.
      const commit = store.commitFile.bind(store);
      let closing!: Promise<void>;
      store.commitFile = async (f) => {
        store.commitFile = commit;
        closing = t.close();
        await new Promise((r) => setTimeout(r, 300));
        return commit(f);
      };
      const answer = c.send(`create_close fid=${open.fid}&devid=${open.devid_1}&domain=ho&size=${body.length}&key=closing&path=${eurl(open.path_1)}`);
      await closing;
      await answer.catch(() => undefined);
      // Handed back due now, the other tracker replicates it at once (at its lease end, it would wait 120 s).
      const fid = Number(open.fid);
      await waitFor('the other tracker to replicate the file', async () => (await devcount(fid)) === 2, 10_000);
    } finally {
      c.close();
      await t.close();
    }
  });
});
