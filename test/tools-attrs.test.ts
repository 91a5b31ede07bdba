/**
 * The attribute table (mogfs_file_attr) and the mogfs_* tracker commands, on
 * both engines: attributes follow the fid (rename keeps them, a replacing
 * upload or a delete drops them, and they never come back), and a stale fid
 * cannot write them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { allFiles, getAttrs, listFiles, MogError, setAttrs } from '../src/client';

/** Attribute rows left for `fid`, read straight from the database. */
async function attrRows(c: Cluster, fid: number): Promise<number> {
  if (c.db.engine === 'sqlite') {
    const db = new Database(c.db.dsn.slice('sqlite:'.length), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM mogfs_file_attr WHERE fid = ?').get(fid) as { n: number }).n;
    } finally {
      db.close();
    }
  }
  const conn = await c.db.sql();
  const [rows] = await conn.query('SELECT COUNT(*) AS n FROM mogfs_file_attr WHERE fid = ?', [fid]);
  return Number((rows as Array<{ n: number }>)[0].n);
}

forEachEngine((engine) => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ engine });
  });
  after(async () => {
    await c?.stop();
  });

  test('store: set, partial update, get; nothing for a fid that is no file', async () => {
    const r = await c.client.storeBuffer('s/a', Buffer.from('abc'));
    assert.equal(await c.store.setFileAttrs(r.fid, { mtimeSec: 1_700_000_000, mtimeNsec: 123_456_789, mode: 0o100644, uid: 1000, gid: 100 }), true);
    assert.equal(await c.store.setFileAttrs(r.fid, { mode: 0o100600 }), true);
    assert.deepEqual(await c.store.getFileAttrs(r.fid), {
      mtimeSec: 1_700_000_000, mtimeNsec: 123_456_789, mode: 0o100600, uid: 1000, gid: 100, symlink: null,
    });
    assert.equal(await c.store.setFileAttrs(r.fid + 1000, { mode: 1 }), false);
    assert.equal(await c.store.getFileAttrs(r.fid + 1000), null);
    assert.equal(await attrRows(c, r.fid + 1000), 0);
  });

  test('client: attributes by key, listing with attributes, rename keeps them', async () => {
    const r = await c.client.storeBuffer('c/one', Buffer.from('12345'));
    await c.client.storeBuffer('c/two', Buffer.from('x'));
    assert.equal(await setAttrs(c.client, 'c/one', { mtimeSec: 42, mtimeNsec: 7, mode: 0o100640, symlink: 'target/é' }, { fid: r.fid }), true);
    const e = await getAttrs(c.client, 'c/one');
    assert.deepEqual(e, {
      key: 'c/one', fid: r.fid, length: 5, devcount: e.devcount, class: 'default',
      attrs: { mtimeSec: 42, mtimeNsec: 7, mode: 0o100640, symlink: 'target/é' }, xattrs: 0,
    });
    const page = await listFiles(c.client, 'c/');
    assert.deepEqual(page.files.map((f) => [f.key, f.attrs.mtimeSec]), [['c/one', 42], ['c/two', undefined]]);
    assert.equal(page.nextAfter, null);

    await c.client.rename('c/one', 'c/renamed');
    assert.equal((await getAttrs(c.client, 'c/renamed')).attrs.mtimeSec, 42);
  });

  test('a replacing upload starts without attributes; the old fid cannot write any more', async () => {
    const first = await c.client.storeBuffer('r/k', Buffer.from('old'));
    await setAttrs(c.client, 'r/k', { mtimeSec: 1000, mode: 0o100644 }, { fid: first.fid });
    assert.equal(await attrRows(c, first.fid), 1);
    const second = await c.client.storeBuffer('r/k', Buffer.from('new!'));
    assert.notEqual(second.fid, first.fid);
    assert.deepEqual((await getAttrs(c.client, 'r/k')).attrs, {});
    assert.equal(await attrRows(c, first.fid), 0, 'the replaced fid has no attribute row left');
    await assert.rejects(setAttrs(c.client, 'r/k', { mtimeSec: 5 }, { fid: first.fid }), (e: unknown) => e instanceof MogError && e.code === 'fid_mismatch');
    assert.equal(await c.store.setFileAttrs(first.fid, { mtimeSec: 5 }), false);
    assert.equal(await attrRows(c, first.fid), 0);
  });

  test('delete removes the attribute row with the file', async () => {
    const r = await c.client.storeBuffer('d/k', Buffer.from('bye'));
    await setAttrs(c.client, 'd/k', { mtimeSec: 9 });
    assert.equal(await attrRows(c, r.fid), 1);
    await c.client.delete('d/k');
    assert.equal(await attrRows(c, r.fid), 0);
    await assert.rejects(getAttrs(c.client, 'd/k'), (e: unknown) => e instanceof MogError && e.code === 'unknown_key');
    await assert.rejects(setAttrs(c.client, 'd/k', { mtimeSec: 9 }), (e: unknown) => e instanceof MogError && e.code === 'unknown_key');
  });

  test('mogfs_list_files pages through every key, any prefix characters, and checks its args', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `p%q\\/${String(i).padStart(2, '0')}`);
    for (const k of keys) await c.client.storeBuffer(k, Buffer.from(k));
    const seen: string[] = [];
    for await (const f of allFiles(c.client, 'p%q\\/', { pageSize: 10 })) seen.push(f.key);
    assert.deepEqual(seen, keys);
    await assert.rejects(
      c.client.tracker.call('mogfs_set_attrs', { domain: 'default', key: keys[0], mtime_sec: '-1' }),
      (e: unknown) => e instanceof MogError && e.code === 'bad_params',
    );
    await assert.rejects(
      c.client.tracker.call('mogfs_list_files', { domain: 'nosuch' }),
      (e: unknown) => e instanceof MogError && e.code === 'unreg_domain',
    );
  });
});
