/**
 * Admin commands replayed as MogileFS::Admin / mogadm send them, with the
 * exact replies the original gives (ERR lines byte for byte; OK args compared
 * as a set, since the original's argument order is Perl hash order).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetadataStore } from '../src/store';
import type { Tracker } from '../src/tracker';
import { forEachEngine } from './helpers/engines';
import { LineClient, okArgs, startTestTracker } from './helpers/tracker';

forEachEngine((_engine, env) => {
  let store: MetadataStore;
  let tracker: Tracker;
  let c: LineClient;
  before(async () => {
    store = await env.open();
    tracker = await startTestTracker(store);
    c = await LineClient.connect(tracker.port);
  });
  after(async () => {
    c.close();
    await tracker.close();
  });

  const ok = async (line: string, expected: Record<string, string>): Promise<void> => {
    const reply = await c.send(line);
    assert.match(reply, /^OK /, `${line} -> ${reply}`);
    assert.deepEqual(okArgs(reply), expected, line);
  };
  const err = async (line: string, expected: string): Promise<void> => {
    assert.equal(await c.send(line), expected, line);
  };

  test('domains: create, duplicate, list with the implicit default class, delete', async () => {
    await ok('create_domain domain=photos', { domain: 'photos' });
    await err('create_domain domain=photos', 'ERR domain_exists That+domain+already+exists');
    await err('create_domain ', 'ERR no_domain No+domain+provided');
    await ok('get_domains ', {
      domains: '1',
      domain1: 'photos',
      domain1classes: '1',
      domain1class1name: 'default',
      domain1class1mindevcount: '2',
      domain1class1replpolicy: 'MultipleHosts()',
      domain1class1hashtype: 'NONE',
    });
    await err('delete_domain domain=nosuch', 'ERR domain_not_found Domain+not+found');
    await ok('create_domain domain=scratch', { domain: 'scratch' });
    await ok('delete_domain domain=scratch', { domain: 'scratch' });
    const doms = okArgs(await c.send('get_domains '));
    assert.equal(doms.domains, '1');
  });

  test('classes: create, update, errors, delete', async () => {
    await ok('create_class domain=photos&class=thumbs&mindevcount=3', { class: 'thumbs', mindevcount: '3', domain: 'photos' });
    await err('create_class domain=photos&class=thumbs&mindevcount=3', 'ERR class_exists That+class+already+exists+in+that+domain');
    await err('create_class domain=photos&class=x&mindevcount=0', 'ERR invalid_mindevcount The+mindevcount+must+be+at+least+1');
    await err('create_class domain=photos&class=x', 'ERR invalid_mindevcount The+mindevcount+must+be+at+least+1');
    await err('create_class domain=nosuch&class=x&mindevcount=2', 'ERR domain_not_found Domain+not+found');
    await err('create_class class=x&mindevcount=2', 'ERR no_domain No+domain+provided');
    await err('create_class domain=photos&mindevcount=2', 'ERR no_class No+class+provided');
    await err('update_class domain=photos&class=nosuch&mindevcount=2', 'ERR class_not_found Class+not+found');
    await ok('update_class domain=photos&class=thumbs&mindevcount=2&replpolicy=MultipleHosts%283%29&hashtype=MD5', {
      class: 'thumbs', mindevcount: '2', domain: 'photos',
    });
    // update_class of the implicit default class creates its row (raising its mindevcount)
    await ok('update_class domain=photos&class=default&mindevcount=3', { class: 'default', mindevcount: '3', domain: 'photos' });
    const d = okArgs(await c.send('get_domains '));
    const classes: Record<string, Record<string, string>> = {};
    for (let i = 1; i <= Number(d.domain1classes); i++) {
      classes[d[`domain1class${i}name`]] = {
        mindevcount: d[`domain1class${i}mindevcount`],
        replpolicy: d[`domain1class${i}replpolicy`],
        hashtype: d[`domain1class${i}hashtype`],
      };
    }
    assert.deepEqual(classes, {
      default: { mindevcount: '3', replpolicy: 'MultipleHosts()', hashtype: 'NONE' },
      thumbs: { mindevcount: '2', replpolicy: 'MultipleHosts(3)', hashtype: 'MD5' },
    });
    await err('create_class domain=photos&class=x&mindevcount=2&hashtype=SHA9', 'ERR invalid_hashtype unknown+hashtype+%22SHA9%22:+use+MD5+or+NONE');
    assert.match(await c.send('create_class domain=photos&class=x&mindevcount=2&replpolicy=Bogus%28%29'), /^ERR invalid_replpolicy /);
    await err('delete_class domain=photos&class=default', 'ERR nodel_default_class Cannot+delete+the+default+class');
    await err('delete_class domain=photos&class=nosuch', 'ERR class_not_found Class+not+found');
    await err('delete_domain domain=photos', 'ERR domain_has_classes domain_has_classes');
    await ok('create_class domain=photos&class=tmp&mindevcount=1', { class: 'tmp', mindevcount: '1', domain: 'photos' });
    await ok('delete_class domain=photos&class=tmp', { domain: 'photos', class: 'tmp' });
  });

  test('hosts: create, update, list, errors, delete', async () => {
    await ok('create_host host=stor1&ip=127.0.0.1&port=7500&status=alive', { hostid: '1', hostname: 'stor1', host: 'stor1' });
    await err('create_host host=stor1&ip=127.0.0.2&port=7500', 'ERR host_exists That+host+already+exists');
    await err('create_host host=stor2&port=7500', 'ERR no_ip IP+required+to+create+host');
    await err('create_host host=stor2&ip=127.0.0.2', 'ERR no_port Port+required+to+create+host');
    await err('create_host ip=127.0.0.2&port=7500', 'ERR no_host No+host+provided');
    await err('create_host host=stor2&ip=127.0.0.2&port=7500&status=sideways', 'ERR unknown_state Invalid/unknown+state');
    await err('update_host host=nosuch&status=down', 'ERR host_not_found Host+not+found');
    // a new host without status starts down, as in the original
    await ok('create_host host=stor2&ip=127.0.0.2&port=7600&getport=7601', { hostid: '2', hostname: 'stor2', host: 'stor2' });
    await ok('update_host host=stor2&status=alive', { hostid: '2', hostname: 'stor2', host: 'stor2' });
    await ok('get_hosts hostid=2', {
      hosts: '1',
      host1_hostid: '2',
      host1_status: 'alive',
      host1_hostname: 'stor2',
      host1_hostip: '127.0.0.2',
      host1_http_port: '7600',
      host1_http_get_port: '7601',
      host1_altip: '',
      host1_altmask: '',
    });
    assert.equal(okArgs(await c.send('get_hosts ')).hosts, '2');
    await err('delete_host host=nosuch', 'ERR unknown_host Host+not+found');
    await ok('create_host host=gone&ip=127.0.0.9&port=7500', { hostid: '3', hostname: 'gone', host: 'gone' });
    await ok('delete_host host=gone', {});
  });

  test('devices: create, list, state changes, weight', async () => {
    await ok('create_device hostname=stor1&devid=1&state=alive', {});
    await ok('create_device hostid=2&devid=2', {});
    await err('create_device hostname=stor1&devid=1&state=alive', 'ERR existing_devid existing_devid');
    await err('create_device hostname=stor1&devid=abc', 'ERR invalid_devid invalid_devid');
    await err('create_device hostname=stor1&devid=5&state=melted', 'ERR invalid_state invalid_state');
    await err('create_device hostname=nosuch&devid=5', 'ERR unknown_host Host+not+found');
    await err('create_device hostid=99&devid=5', 'ERR unknown_hostid unknown_hostid');
    await err('create_device devid=5', 'ERR bad_args No+hostid/hostname+parameter');
    const devs = okArgs(await c.send('get_devices devid=1'));
    assert.equal(devs.devices, '1');
    assert.equal(devs.dev1_devid, '1');
    assert.equal(devs.dev1_hostid, '1');
    assert.equal(devs.dev1_status, 'alive');
    for (const k of ['weight', 'mb_total', 'mb_used', 'mb_asof', 'mb_free', 'observed_state', 'utilization', 'reject_bad_md5']) {
      assert.ok(`dev1_${k}` in devs, `get_devices has dev1_${k}`);
    }
    assert.equal(okArgs(await c.send('get_devices ')).devices, '2');

    await err('set_state host=stor1&device=1&state=melted', 'ERR bad_params Invalid+parameters+to+command%3B+please+see+documentation');
    await err('set_state host=stor1&device=77&state=down', 'ERR no_device Device+not+found');
    await err('set_state host=stor2&device=1&state=down', "ERR host_mismatch The+device+specified+doesn%27t+belong+to+the+host+specified");
    await ok('set_state host=stor1&device=1&state=readonly', {});
    await ok('set_state host=stor1&device=1&state=dead', {});
    await err('set_state host=stor1&device=1&state=alive', 'ERR state_too_high Status+cannot+go+from+dead+to+alive%3B+must+use+down');
    await ok('set_state host=stor1&device=1&state=down', {});
    assert.equal(okArgs(await c.send('get_devices devid=1')).dev1_status, 'down');
    await ok('set_weight host=stor1&device=1&weight=50', {});
    assert.equal(okArgs(await c.send('get_devices devid=1')).dev1_weight, '50');
    await err('set_weight host=stor1&device=1&weight=-1', 'ERR bad_params Invalid+parameters+to+command%3B+please+see+documentation');
    await err('delete_host host=stor1', 'ERR host_not_empty Unable+to+delete+host%3B+it+contains+devices+still');
  });

  test('server settings: set, read one, read all, refuse unknown keys', async () => {
    await ok('set_server_setting key=memcache_ttl&value=60', {});
    await ok('server_setting key=memcache_ttl', { key: 'memcache_ttl', value: '60' });
    await ok('server_setting key=never_set', { key: 'never_set', value: '' });
    await err('server_setting ', 'ERR bad_params Invalid+parameters+to+command%3B+please+see+documentation');
    await err('set_server_setting key=no_such_setting&value=1', 'ERR not_writable setting+%22no_such_setting%22+cannot+be+set+through+the+protocol');
    assert.match(await c.send('set_server_setting key=memcache_ttl&value=soon'), /^ERR invalid_format /);
    const all = okArgs(await c.send('server_settings '));
    const map: Record<string, string> = {};
    for (let i = 1; i <= Number(all.key_count); i++) map[all[`key_${i}`]] = all[`value_${i}`];
    assert.equal(map.memcache_ttl, '60');
    // default_mindevcount sets the implicit default class's mindevcount
    await ok('create_domain domain=fresh', { domain: 'fresh' });
    await ok('set_server_setting key=default_mindevcount&value=4', {});
    const d = okArgs(await c.send('get_domains '));
    let found = false;
    for (let i = 1; i <= Number(d.domains); i++) {
      if (d[`domain${i}`] !== 'fresh') continue;
      assert.equal(d[`domain${i}class1name`], 'default');
      assert.equal(d[`domain${i}class1mindevcount`], '4');
      found = true;
    }
    assert.ok(found);
  });

  test('housekeeping: noop, clear_cache echo, replicate_now, fsck answers clearly', async () => {
    await ok('noop ', {});
    await ok('clear_cache all=1', { all: '1' });
    await ok('replicate_now ', { count: '0' });
    // Deferred jobs (a failed copy waiting out its backoff) are made due now and counted.
    const later = Math.floor(Date.now() / 1000) + 3600;
    await store.enqueueReplicate(900001, null, later);
    await store.enqueueReplicate(900002, null, later);
    await ok('replicate_now ', { count: '2' });
    await ok('replicate_now ', { count: '0' });
    assert.match(await c.send('fsck_status '), /^OK .*\brunning=0\b/);
    await ok('sleep duration=0.01', {});
  });
});
