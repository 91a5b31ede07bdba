// MetadataStore on both engines: schema, ids, layout rows and their errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from './helpers/engines';
import { isMogError } from '../src/protocol';
import type { MetadataStore } from '../src/store';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isMogError(e, code), `expected MogError ${code}, got ${String(e)} (${(e as { code?: string }).code})`);
    assert.ok((e as Error).message.length > 0);
    return true;
  });
}

const host = (name: string, ip: string) => ({
  status: 'alive' as const, http_port: 7500, http_get_port: null, hostname: name, hostip: ip, altip: null, altmask: null,
});

forEachEngine((engine, env) => {
  test('init is idempotent and records schema_version 15', async () => {
    const db = await env.database();
    const a = await db.open();
    await a.createDomain('keep');
    await a.init();
    await a.init();
    const b = await db.open(); // a second tracker starting on the same database
    assert.equal(a.engine, engine);
    assert.equal(a.maxKeyLength, 1024);
    assert.equal(b.maxKeyLength, 1024);
    assert.equal((await b.getSettings()).schema_version, '15');
    assert.deepEqual((await b.listDomains()).map((d) => d.namespace), ['keep']);
  });

  test('domains: dmid is max+1, duplicates are domain_exists', async () => {
    const s = await env.open();
    assert.deepEqual(await s.createDomain('one'), { dmid: 1, namespace: 'one' });
    assert.deepEqual(await s.createDomain('two'), { dmid: 2, namespace: 'two' });
    await rejectsWith(s.createDomain('one'), 'domain_exists');
    await s.deleteDomain(1);
    assert.deepEqual(await s.listDomains(), [{ dmid: 2, namespace: 'two' }]);
    assert.equal((await s.createDomain('three')).dmid, 3);
    assert.equal(await s.domainHasFiles(2), false);
    const fid = await s.createTempfile({ dmid: 2, dkey: 'k', classid: 0, devids: '1', createtime: 1 });
    await s.commitFile({ fid, dmid: 2, dkey: 'k', length: 1, classid: 0, devids: [1] });
    assert.equal(await s.domainHasFiles(2), true);
    assert.equal(await s.domainHasFiles(3), false);
  });

  test('domains created concurrently by two stores get distinct ids', async () => {
    const db = await env.database();
    const [a, b] = [await db.open(), await db.open()];
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).createDomain(`d${i}`)));
    assert.equal(new Set(made.map((d) => d.dmid)).size, 12);
    assert.equal((await a.listDomains()).length, 12);
  });

  test('classes: classid is max+1 within the domain; default is classid 0; class_exists', async () => {
    const s = await env.open();
    const d1 = await s.createDomain('d1');
    const d2 = await s.createDomain('d2');
    const c = (dmid: number, classname: string, mindevcount = 2) =>
      s.createClass({ dmid, classname, mindevcount, replpolicy: null, hashtype: null });
    assert.equal((await c(d1.dmid, 'a')).classid, 1);
    assert.equal((await c(d1.dmid, 'b', 3)).classid, 2);
    assert.equal((await c(d2.dmid, 'a')).classid, 1);
    assert.equal((await c(d2.dmid, 'default', 4)).classid, 0);
    await rejectsWith(c(d1.dmid, 'a'), 'class_exists');
    await s.updateClass({ dmid: d1.dmid, classid: 2, classname: 'b2', mindevcount: 5, replpolicy: 'MultipleHosts(3)', hashtype: 1 });
    await rejectsWith(
      s.updateClass({ dmid: d1.dmid, classid: 2, classname: 'a', mindevcount: 5, replpolicy: null, hashtype: null }),
      'class_exists',
    );
    const rows = await s.listClasses();
    assert.deepEqual(rows.find((r) => r.dmid === d1.dmid && r.classid === 2),
      { dmid: d1.dmid, classid: 2, classname: 'b2', mindevcount: 5, replpolicy: 'MultipleHosts(3)', hashtype: 1 });
    assert.equal(rows.length, 4);
    const fid = await s.createTempfile({ dmid: d1.dmid, dkey: 'x', classid: 2, devids: '1', createtime: 1 });
    await s.commitFile({ fid, dmid: d1.dmid, dkey: 'x', length: 0, classid: 2, devids: [1] });
    assert.equal(await s.classHasFiles(d1.dmid, 2), true);
    assert.equal(await s.classHasFiles(d1.dmid, 1), false);
    await s.deleteClass(d1.dmid, 1);
    assert.equal((await s.listClasses()).length, 3);
    assert.equal((await c(d1.dmid, 'c')).classid, 3);
  });

  test('hosts: ids, host_exists for a taken name, ip_exists for a taken IP', async () => {
    const s = await env.open();
    const h1 = await s.createHost(host('h1', '127.0.0.1'));
    assert.equal(h1.hostid, 1);
    assert.equal((await s.createHost({ ...host('h7', '127.0.0.7'), hostid: 7 })).hostid, 7);
    assert.equal((await s.createHost(host('h8', '127.0.0.8'))).hostid, 8);
    await rejectsWith(s.createHost(host('h1', '127.0.0.9')), 'host_exists');
    await rejectsWith(s.createHost(host('h9', '127.0.0.1')), 'ip_exists');
    await rejectsWith(s.createHost({ ...host('h10', '127.0.0.10'), hostid: 7 }), 'host_exists');
    await s.updateHost(1, { status: 'down', http_port: 7600, http_get_port: 7601, altip: '10.0.0.1', altmask: '10.0.0.0/8' });
    await s.updateHost(1, { hostip: '127.0.0.1' }); // its own IP again is fine
    await rejectsWith(s.updateHost(1, { hostip: '127.0.0.7' }), 'ip_exists');
    await rejectsWith(s.updateHost(1, { hostname: 'h8' }), 'host_exists');
    const rows = await s.listHosts();
    assert.deepEqual(rows[0], {
      hostid: 1, status: 'down', http_port: 7600, http_get_port: 7601, hostname: 'h1', hostip: '127.0.0.1',
      altip: '10.0.0.1', altmask: '10.0.0.0/8',
    });
    await s.deleteHost(7);
    assert.deepEqual((await s.listHosts()).map((h) => h.hostid), [1, 8]);
  });

  test('devices: given devid or max+1, existing_devid, updates', async () => {
    const s = await env.open();
    await s.createHost(host('h1', '127.0.0.1'));
    assert.deepEqual(await s.createDevice({ devid: 3, hostid: 1, status: 'alive' }), {
      devid: 3, hostid: 1, status: 'alive', weight: 100, mb_total: null, mb_used: null, mb_asof: null,
    });
    await rejectsWith(s.createDevice({ devid: 3, hostid: 1, status: 'alive' }), 'existing_devid');
    assert.equal((await s.createDevice({ devid: 0, hostid: 1, status: 'down' })).devid, 4);
    await s.updateDevice(3, { status: 'drain', weight: 50, mb_total: 40_000_000, mb_used: 1000, mb_asof: 1700000000 });
    const devs = await s.listDevices();
    assert.deepEqual(devs[0], {
      devid: 3, hostid: 1, status: 'drain', weight: 50, mb_total: 40_000_000, mb_used: 1000, mb_asof: 1700000000,
    });
    assert.deepEqual(devs.map((d) => d.devid), [3, 4]);
  });

  test('server settings: set, replace, read', async () => {
    const s = await env.open();
    await s.setSetting('memcache_servers', 'a:1');
    await s.setSetting('memcache_servers', 'b:2');
    await s.setSetting('long', 'x'.repeat(1000));
    const all = await s.getSettings();
    assert.equal(all.memcache_servers, 'b:2');
    assert.equal(all.long.length, 1000);
  });

  test('tempfile: fids increase, are never reused, explicit fids and fid_in_use', async () => {
    const s = await env.open();
    const t = (extra: Partial<Parameters<MetadataStore['createTempfile']>[0]> = {}) =>
      s.createTempfile({ dmid: 1, dkey: 'k', classid: 0, devids: '1,2', createtime: 100, ...extra });
    const a = await t();
    const b = await t();
    assert.ok(b > a);
    await s.deleteTempfile(b);
    const c = await t();
    assert.ok(c > b, `fid ${c} reused after tempfile row ${b} was deleted`);
    assert.equal(await t({ fid: 500 }), 500);
    await rejectsWith(t({ fid: 500 }), 'fid_in_use');
    await rejectsWith(t({ fid: a }), 'fid_in_use');
    const d = await t();
    assert.ok(d > 500);
    assert.deepEqual(await s.getTempfile(a), { fid: a, createtime: 100, classid: 0, dmid: 1, dkey: 'k', devids: '1,2' });
    assert.equal(await s.getTempfile(b), null);
    // a committed file's fid is in use even though its tempfile row is gone
    await s.commitFile({ fid: 500, dmid: 1, dkey: 'k500', length: 1, classid: 0, devids: [1] });
    await rejectsWith(t({ fid: 500 }), 'fid_in_use');
  });

  test('tempfile: staleness listing is by createtime, oldest first', async () => {
    const s = await env.open();
    const mk = (createtime: number) => s.createTempfile({ dmid: 1, dkey: `k${createtime}`, classid: 0, devids: '1', createtime });
    const f300 = await mk(300);
    const f100 = await mk(100);
    const f200 = await mk(200);
    await mk(400);
    assert.deepEqual((await s.listStaleTempfiles(301, 10)).map((r) => r.fid), [f100, f200, f300]);
    assert.deepEqual((await s.listStaleTempfiles(301, 2)).map((r) => r.fid), [f100, f200]);
    assert.deepEqual(await s.listStaleTempfiles(100, 10), []);
    const row = (await s.listStaleTempfiles(101, 1))[0];
    assert.equal(row.dkey, 'k100');
  });
});
