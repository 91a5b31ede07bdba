/**
 * The bridge's tracker extensions, on both engines: mogfs_list_dir (one level,
 * markers of subdirectories in the same reply, paging), mogfs_rename with
 * replace, mogfs_rename_dir (atomic, refuses a taken target), extended
 * attributes, attributes sent with create_close, and the switch that turns
 * every extension off so the tracker answers as a stock one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { getAttrs, getXattrs, listDir, lookupKey, MogError, renameDir, renameKey, setXattr } from '../src/client';
import type { DirListEntry } from '../src/client';

const isCode = (code: string) => (e: unknown): boolean => e instanceof MogError && e.code === code;

function show(entries: DirListEntry[]): string[] {
  return entries.map((e) => (e.type === 'dir' ? `[${e.key}]` : e.type === 'marker' ? `<${e.file.key}>` : e.file.key));
}

forEachEngine((engine) => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ engine });
  });
  after(async () => {
    await c?.stop();
  });

  const put = (key: string, body = key): Promise<unknown> => c.client.storeBuffer(key, Buffer.from(body));

  test('mogfs_list_dir: one level with attributes, subdirectory markers alongside, paging', async () => {
    for (const k of ['t/a', 't/b/1', 't/b/2', 't/b/.m', 't/c/x/y', 't/d', 't/.m']) await put(k);
    await c.client.storeBuffer('t/e', Buffer.from('12345'), { attrs: { mtimeSec: 77, mtimeNsec: 5, mode: 0o100600 } });
    const all = await listDir(c.client, 't/', { marker: '.m' });
    assert.deepEqual(show(all.entries), ['t/.m', 't/a', '[t/b/]', '<t/b/.m>', '[t/c/]', 't/d', 't/e']);
    assert.equal(all.nextAfter, null);
    const e = all.entries.find((x) => x.type === 'file' && x.file.key === 't/e');
    assert.ok(e && e.type === 'file');
    assert.equal(e.file.length, 5);
    assert.deepEqual(e.file.attrs, { mtimeSec: 77, mtimeNsec: 5, mode: 0o100600 });

    const pages: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const p = await listDir(c.client, 't/', { after, limit: 2, marker: '.m' });
      if (p.entries.length > 0) pages.push(show(p.entries));
      if (p.nextAfter === null) break;
      after = p.nextAfter;
    }
    assert.deepEqual(pages, [['t/.m', 't/a'], ['[t/b/]', '<t/b/.m>', '[t/c/]'], ['t/d', 't/e']]);
    assert.deepEqual(show((await listDir(c.client, 'nothing/')).entries), []);
    await assert.rejects(listDir(c.client, 't/', { marker: 'a/b' }), isCode('bad_params'));
  });

  test('mogfs_lookup: file, directory and marker in one reply', async () => {
    await put('l/both');
    await put('l/both/inner');
    await c.client.storeBuffer('l/both/.m', Buffer.alloc(0), { attrs: { mode: 0o40700, mtimeSec: 9 } });
    await put('l/file');
    const both = await lookupKey(c.client, 'l/both', '.m');
    assert.equal(both.file?.key, 'l/both');
    assert.equal(both.dir, true);
    assert.deepEqual(both.marker?.attrs, { mode: 0o40700, mtimeSec: 9, mtimeNsec: 0 });
    const file = await lookupKey(c.client, 'l/file', '.m');
    assert.deepEqual([file.file?.length, file.dir, file.marker], [6, false, null]);
    const none = await lookupKey(c.client, 'l/none');
    assert.deepEqual(none, { file: null, dir: false, marker: null });
    assert.equal((await lookupKey(c.client, 'l')).dir, true);
  });

  test('mogfs_lookup paths=N nodir=1: the replica URLs in the same reply (the gateway\'s one round trip)', async () => {
    await put('l/served', 'bytes');
    await c.waitFor('two copies', async () => (await c.client.fileInfo('l/served')).devcount === 2);
    const r = await c.client.tracker.call('mogfs_lookup', { domain: 'default', key: 'l/served', paths: 4, nodir: 1 });
    assert.equal(r.file, '1');
    assert.equal(r.dir, '0');
    assert.equal(r.path_count, '2');
    const fid = Number(r.file_fid);
    const urls = [r.path_1, r.path_2];
    assert.deepEqual([...urls].sort(), [...(await c.client.getPaths('l/served', { noverify: true }))].sort());
    for (const u of urls) assert.match(u, new RegExp(`/0*${fid}\\.fid$`));
    const one = await c.client.tracker.call('mogfs_lookup', { domain: 'default', key: 'l/served', paths: 1, nodir: 1 });
    assert.equal(one.path_count, '1');
    const none = await c.client.tracker.call('mogfs_lookup', { domain: 'default', key: 'l/none', paths: 4 });
    assert.deepEqual([none.file, none.path_count], ['0', undefined]);
    const plain = await c.client.tracker.call('mogfs_lookup', { domain: 'default', key: 'l/served' });
    assert.equal(plain.path_count, undefined, 'no paths unless asked for');
  });

  test('mogfs_rename replaces the target in one step and queues the old file for deletion', async () => {
    await put('r/src', 'new');
    await put('r/dst', 'old');
    const old = await c.client.fileInfo('r/dst');
    await assert.rejects(renameKey(c.client, 'r/src', 'r/dst'), isCode('key_exists'));
    await renameKey(c.client, 'r/src', 'r/dst', { replace: true });
    assert.equal((await c.client.getBuffer('r/dst')).toString(), 'new');
    await assert.rejects(c.client.fileInfo('r/src'), isCode('unknown_key'));
    assert.equal(await c.store.getFile(old.fid), null);
    await c.waitFor('the replaced file deleted from its devices', async () => (await c.store.fileDevids(old.fid)).length === 0);
    await assert.rejects(renameKey(c.client, 'r/none', 'r/x', { replace: true }), isCode('unknown_key'));
  });

  test('mogfs_rename_dir moves a whole prefix atomically and refuses a taken target', async () => {
    for (const k of ['m/from/a', 'm/from/b/c', 'm/from/b/d', 'm/fromage']) await put(k);
    await put('m/taken/x');
    await assert.rejects(renameDir(c.client, 'm/from/', 'm/taken/'), isCode('key_exists'));
    await assert.rejects(renameDir(c.client, 'm/from/', 'm/from/sub/'), isCode('bad_params'));
    assert.equal(await renameDir(c.client, 'm/from/', 'm/to/'), 3);
    assert.deepEqual((await c.client.listKeys('m/')).keys, ['m/fromage', 'm/taken/x', 'm/to/a', 'm/to/b/c', 'm/to/b/d']);
    assert.equal((await c.client.getBuffer('m/to/b/c')).toString(), 'm/from/b/c');
    assert.equal(await renameDir(c.client, 'm/none/', 'm/other/'), 0);
    const long = 'm/' + 'x'.repeat(1020) + '/';
    await assert.rejects(renameDir(c.client, 'm/to/', long), isCode('key_too_long'));
    assert.deepEqual((await c.client.listKeys('m/to/')).keys, ['m/to/a', 'm/to/b/c', 'm/to/b/d'], 'nothing moved');
  });

  test('extended attributes: set, replace, remove, binary values, gone with the file', async () => {
    const r = await c.client.storeBuffer('x/f', Buffer.from('data'));
    const bin = Buffer.from([0, 1, 2, 255, 254, 43, 47, 61]);
    assert.equal(await setXattr(c.client, 'x/f', 'user.one', Buffer.from('first')), true);
    assert.equal(await setXattr(c.client, 'x/f', 'user.bin', bin, { fid: r.fid }), true);
    assert.equal(await setXattr(c.client, 'x/f', 'user.one', Buffer.from('second')), true);
    assert.deepEqual(await getXattrs(c.client, 'x/f'), new Map([['user.bin', bin], ['user.one', Buffer.from('second')]]));
    assert.equal((await getAttrs(c.client, 'x/f')).xattrs, 2);
    assert.equal(await setXattr(c.client, 'x/f', 'user.one', null), true);
    assert.deepEqual([...(await getXattrs(c.client, 'x/f')).keys()], ['user.bin']);
    await assert.rejects(setXattr(c.client, 'x/f', 'user.big', Buffer.alloc(40_000)), isCode('bad_params'));
    await assert.rejects(setXattr(c.client, 'x/f', 'user.x', Buffer.from('v'), { fid: r.fid + 1 }), isCode('fid_mismatch'));
    await c.client.delete('x/f');
    assert.equal(await c.store.getFileXattrs(r.fid), null);
    await c.client.storeBuffer('x/f', Buffer.from('again'));
    assert.deepEqual(await getXattrs(c.client, 'x/f'), new Map(), 'a new file under the old key has none');
  });

  test('create_close stores attributes with the file; bad ones are refused', async () => {
    await c.client.storeBuffer('a/link', Buffer.alloc(0), { attrs: { mode: 0o120777, symlink: '../target', uid: 7, gid: 8 } });
    assert.deepEqual((await getAttrs(c.client, 'a/link')).attrs, { mode: 0o120777, symlink: '../target', uid: 7, gid: 8 });
    await assert.rejects(c.client.storeBuffer('a/bad', Buffer.from('x'), { attrs: { mtimeSec: -5 } }), isCode('bad_params'));
  });
});

test('with extensions off the tracker answers as a stock one', async () => {
  const c = await startCluster({ tracker: { extensions: false } });
  try {
    await c.client.storeBuffer('k', Buffer.from('v'), { attrs: { mtimeSec: 5, mode: 0o100644 } });
    for (const cmd of ['mogfs_list_dir', 'mogfs_lookup', 'mogfs_rename', 'mogfs_rename_dir', 'mogfs_get_attrs', 'mogfs_set_xattr', 'mogfs_stats', 'mogfs_dav_lock', 'mogfs_dav_locks', 'mogfs_dav_unlock']) {
      await assert.rejects(c.client.tracker.call(cmd, { domain: 'default', key: 'k' }), isCode('unknown_command'), cmd);
    }
    assert.deepEqual((await getAttrs(c.client, 'k')).attrs, {}, 'create_close ignored the attributes');
    const fid = (await c.client.fileInfo('k')).fid;
    assert.deepEqual(await c.store.getFileAttrs(fid), { mtimeSec: null, mtimeNsec: null, mode: null, uid: null, gid: null, symlink: null });
  } finally {
    await c.stop();
  }
});

test('mogfs_dav_* on the wire: a lock, its conflict, listing, refresh and release; bad arguments are bad_params', async () => {
  const c = await startCluster();
  try {
    const t = c.client.tracker;
    const got = await t.call('mogfs_dav_lock', { path: '/default/a', depth: -1, exclusive: 1, owner: '<D:href>x y</D:href>', user: 'al', timeout: 60 });
    assert.match(got.token, /^opaquelocktoken:[0-9a-f-]{36}$/);
    await assert.rejects(t.call('mogfs_dav_lock', { path: '/default/a/b', depth: 0, exclusive: 0, timeout: 60 }), isCode('dav_locked'));
    const l = await t.call('mogfs_dav_locks', { path: '/default/a/b/c' });
    assert.equal(l.lock_count, '1');
    assert.equal(l.lock_1_owner, '<D:href>x y</D:href>');
    assert.equal(l.lock_1_depth, '-1');
    assert.equal((await t.call('mogfs_dav_locks', { path: '/default', below: 0 })).lock_count, '0');
    assert.equal((await t.call('mogfs_dav_locks', { path: '/default', below: 1 })).lock_count, '1');
    assert.equal((await t.call('mogfs_dav_lock_refresh', { token: got.token, timeout: 120 })).timeout, '120');
    assert.equal((await t.call('mogfs_dav_unlock', { token: got.token })).released, '1');
    assert.equal((await t.call('mogfs_dav_unlock', { token: got.token })).released, '0');
    await assert.rejects(t.call('mogfs_dav_lock_refresh', { token: got.token, timeout: 60 }), isCode('no_dav_lock'));
    for (const bad of [{ timeout: 60 }, { path: 'relative', timeout: 60 }, { path: '/x', timeout: 0 }, { path: '/x', timeout: 60, depth: 1 }]) {
      await assert.rejects(t.call('mogfs_dav_lock', bad), isCode('bad_params'), JSON.stringify(bad));
    }
  } finally {
    await c.stop();
  }
});
