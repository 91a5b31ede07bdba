/**
 * Storing, reading, listing and removing files through the tracker with real
 * storage nodes, replaying the request lines MogileFS::Client sends and
 * checking the original's replies and error codes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import { request } from 'undici';
import { eurl } from '../src/protocol';
import type { MetadataStore } from '../src/store';
import type { Tracker } from '../src/tracker';
import { forEachEngine } from './helpers/engines';
import { rawHttp } from './helpers/storage';
import { LineClient, okArgs, startTestCluster, startTestTracker } from './helpers/tracker';
import type { TestCluster } from './helpers/tracker';

async function put(url: string, body: string | Buffer): Promise<number> {
  const res = await request(url, { method: 'PUT', body });
  await res.body.dump();
  return res.statusCode;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text() };
}

forEachEngine((_engine, env) => {
  let store: MetadataStore;
  let tracker: Tracker;
  let cluster: TestCluster;
  let c: LineClient;
  before(async () => {
    store = await env.open();
    tracker = await startTestTracker(store);
    c = await LineClient.connect(tracker.port);
    cluster = await startTestCluster(c, 2, 2);
    await c.ok('create_domain', { domain: 'd1' });
    await c.ok('create_class', { domain: 'd1', class: 'sums', mindevcount: 2, hashtype: 'MD5' });
  });
  after(async () => {
    c.close();
    await tracker.close();
    await cluster.close();
  });

  /** MogileFS::Client->store_content: create_open (multi_dest), PUT, create_close. */
  async function store1(key: string, body: string, extra: Record<string, string> = {}, cls = ''): Promise<{ fid: string; devid: string; path: string; reply: string }> {
    const open = okArgs(await c.send(`create_open domain=d1&class=${cls}&key=${eurl(key)}&fid=0&multi_dest=1`));
    const devid = open.devid_1;
    const path = open.path_1;
    assert.equal(await put(path, body), 201);
    const closeArgs = { fid: open.fid, devid, domain: 'd1', size: String(Buffer.byteLength(body)), key, path, ...extra };
    const reply = await c.send('create_close ' + Object.entries(closeArgs).map(([k, v]) => `${k}=${eurl(v)}`).join('&'));
    return { fid: open.fid, devid, path, reply };
  }

  test('create_open with multi_dest offers one device per host', async () => {
    const open = okArgs(await c.send('create_open domain=d1&class=&key=probe&fid=0&multi_dest=1'));
    assert.equal(open.dev_count, '2');
    const hosts = new Set([open.devid_1, open.devid_2].map((d) => cluster.devices.get(Number(d))?.hostname));
    assert.equal(hosts.size, 2, 'two destinations on two different hosts');
    const fid = Number(open.fid).toString().padStart(10, '0');
    assert.match(open.path_1, new RegExp(`^http://127\\.0\\.0\\.\\d:\\d+/dev${open.devid_1}/${fid[0]}/${fid.slice(1, 4)}/${fid.slice(4, 7)}/${fid}\\.fid$`));
    // the fid's directories exist before any PUT (MKCOL, for stock mogstored)
    const node = cluster.nodes[cluster.devices.get(Number(open.devid_1))?.hostname === 'stor1' ? 0 : 1];
    const st = await fs.stat(nodePath.join(node.docroot, `dev${open.devid_1}`, fid[0], fid.slice(1, 4), fid.slice(4, 7)));
    assert.ok(st.isDirectory());
    const single = okArgs(await c.send('create_open domain=d1&key=probe2'));
    assert.deepEqual(Object.keys(single).sort(), ['devid', 'fid', 'path']);
    assert.equal(await c.send('create_open domain=d1&class=nosuch&key=x'), 'ERR unreg_class unreg_class');
    assert.equal(await c.send('create_open domain=nosuch&key=x'), 'ERR unreg_domain Domain+name+invalid/not+found');
    assert.equal(await c.send('create_open key=x'), 'ERR no_domain No+domain+provided');
  });

  test('store, get_paths, file_info, fetch', async () => {
    const s = await store1('a/b/hello.txt', 'hello world');
    assert.equal(s.reply, 'OK ');
    const paths = okArgs(await c.send('get_paths domain=d1&key=a%2Fb%2Fhello.txt&noverify=1&zone='));
    assert.deepEqual(paths, { paths: '1', path1: s.path });
    assert.deepEqual(await get(paths.path1), { status: 200, body: 'hello world' });
    // verified lookup (noverify off) checks the size by HEAD
    assert.deepEqual(okArgs(await c.send('get_paths domain=d1&key=a/b/hello.txt')), { paths: '1', path1: s.path });
    assert.deepEqual(okArgs(await c.send('file_info domain=d1&key=a/b/hello.txt&devices=1')), {
      fid: s.fid, domain: 'd1', class: 'default', key: 'a/b/hello.txt', length: '11', devcount: '1', devids: s.devid,
    });
    assert.deepEqual(Object.keys(okArgs(await c.send('file_info domain=d1&key=a/b/hello.txt'))).sort(),
      ['class', 'devcount', 'domain', 'fid', 'key', 'length']);
    assert.equal(await c.send('get_paths domain=d1&key=nosuch'), 'ERR unknown_key unknown_key');
    assert.equal(await c.send('get_paths domain=d1'), 'ERR no_key no_key');
    assert.equal(await c.send('file_info domain=d1&key=nosuch'), 'ERR unknown_key unknown_key');
    // replication was queued from the device that holds the upload
    assert.ok((await store.queueDepths()).replicate >= 1);
  });

  test('create_close checks the upload: size, path, tempfile, destination', async () => {
    const open = okArgs(await c.send('create_open domain=d1&key=sz&fid=0&multi_dest=1'));
    assert.equal(await put(open.path_1, '12345'), 201);
    const base = `fid=${open.fid}&devid=${open.devid_1}&domain=d1&key=sz&path=${eurl(open.path_1)}`;
    assert.equal(await c.send(`${base}&size=6`.replace(/^/, 'create_close ')),
      `ERR size_mismatch ${eurl(`Expected: 6; actual: 5; path: ${open.path_1}`)}`);
    // a failed close discards the tempfile: closing again finds none
    assert.equal(await c.send(`create_close ${base}&size=5`), 'ERR no_temp_file No+tempfile+or+file+already+closed');

    const open2 = okArgs(await c.send('create_open domain=d1&key=missing&fid=0&multi_dest=1'));
    const reply = await c.send(`create_close fid=${open2.fid}&devid=${open2.devid_1}&domain=d1&key=missing&size=3&path=${eurl(open2.path_1)}`);
    assert.ok(reply.startsWith(`ERR size_verify_error ${eurl(`Expected: 3; actual: 0 (missing); path: ${open2.path_1}; error: `)}`), reply);

    const open3 = okArgs(await c.send('create_open domain=d1&key=x3&fid=0&multi_dest=1'));
    assert.equal(await c.send(`create_close fid=${open3.fid}&devid=${open3.devid_1}&domain=d1&key=x3&path=http://example.invalid/x`), 'ERR bogus_args bogus_args');
    assert.equal(await c.send(`create_close devid=1&domain=d1&key=x3&path=x`), 'ERR no_fid no_fid');
    assert.equal(await c.send(`create_close fid=1&domain=d1&key=x3&path=x`), 'ERR no_devid no_devid');
    assert.equal(await c.send(`create_close fid=1&devid=1&domain=d1&key=x3`), 'ERR no_path no_path');
    // a device create_open did not offer
    const other = [...cluster.devices.keys()].find((d) => d !== Number(open3.devid_1) && d !== Number(open3.devid_2)) as number;
    const node = cluster.nodes[cluster.devices.get(other)?.hostname === 'stor1' ? 0 : 1];
    const otherPath = `http://${node.host}:${node.httpPort}/dev${other}${new URL(open3.path_1).pathname.replace(/^\/dev\d+/, '')}`;
    assert.equal(await put(otherPath, 'abc'), 201);
    assert.equal(await c.send(`create_close fid=${open3.fid}&devid=${other}&domain=d1&key=x3&size=3&path=${eurl(otherPath)}`),
      `ERR invalid_destdev ${eurl(`File uploaded to invalid dest ${other}. Valid devices were: ${open3.devid_1},${open3.devid_2}`)}`);
    // closing without a key discards the upload and says OK
    const open4 = okArgs(await c.send('create_open domain=d1&key=&fid=0&multi_dest=1'));
    assert.equal(await c.send(`create_close fid=${open4.fid}&devid=${open4.devid_1}&domain=d1&key=&path=${eurl(open4.path_1)}`), 'OK ');
    assert.equal(await c.send('file_info domain=d1&key=sz'), 'ERR unknown_key unknown_key');
  });

  test('create_close refuses a domain other than the one create_open named', async () => {
    await c.ok('create_domain', { domain: 'd2' });
    const open = okArgs(await c.send('create_open domain=d1&class=sums&key=crossed&fid=0&multi_dest=1'));
    assert.equal(await put(open.path_1, 'abc'), 201);
    const close = (domain: string): Promise<string> =>
      c.send(`create_close fid=${open.fid}&devid=${open.devid_1}&domain=${domain}&key=crossed&size=3&path=${eurl(open.path_1)}`);
    // Into d2 it would be a d2 key with d1's class: refused, and nothing is stored there.
    assert.equal(await close('d2'), `ERR domain_mismatch ${eurl(`fid ${open.fid} was opened in domain "d1", not "d2"; close it in the domain create_open named`)}`);
    assert.equal(await c.send('file_info domain=d2&key=crossed'), 'ERR unknown_key unknown_key');
    // The refusal leaves the upload open: the right close still works.
    assert.equal(await close('d1'), 'OK ');
    assert.equal(okArgs(await c.send('file_info domain=d1&key=crossed')).class, 'sums');
  });

  test('mogadm check (MogileFS-Utils) finds every alive host up: GET / and //dev<N>/usage answer 200', async () => {
    // cmd_check: get_hosts and get_devices, then LWP::Simple get() of each alive
    // host's root (a host whose root does not answer 2xx is "REQUEST FAILURE"),
    // then of "$url/dev$devid/usage" with $url ending in "/".
    const hosts = okArgs(await c.send('get_hosts '));
    const devices = okArgs(await c.send('get_devices '));
    assert.equal(hosts.hosts, '2');
    for (let h = 1; h <= Number(hosts.hosts); h++) {
      assert.equal(hosts[`host${h}_status`], 'alive');
      const port = Number(hosts[`host${h}_http_port`]);
      const ip = hosts[`host${h}_hostip`];
      const lwp = 'TE: deflate,gzip;q=0.3\r\nUser-Agent: LWP::Simple/6.67';
      assert.equal((await rawHttp(port, `GET / HTTP/1.1\r\n${lwp}`, '', ip)).status, 200, `GET / of host ${h}`);
      for (let d = 1; d <= Number(devices.devices); d++) {
        if (devices[`dev${d}_hostid`] !== hosts[`host${h}_hostid`]) continue;
        const usage = await rawHttp(port, `GET //dev${devices[`dev${d}_devid`]}/usage HTTP/1.1\r\n${lwp}`, '', ip);
        assert.equal(usage.status, 200);
        assert.match(usage.body.toString(), /\ntotal: \d+\n/);
      }
    }
  });

  test('zero-byte files store fine without a size check', async () => {
    const s = await store1('empty', '', { size: '0' });
    assert.equal(s.reply, 'OK ');
    assert.equal(okArgs(await c.send('file_info domain=d1&key=empty')).length, '0');
  });

  test('checksums: kept for MD5 classes, verified when asked', async () => {
    const md5 = createHash('md5').update('checked').digest('hex');
    const s = await store1('sum1', 'checked', { checksum: `MD5:${md5}`, checksumverify: '1' }, 'sums');
    assert.equal(s.reply, 'OK ');
    assert.equal(okArgs(await c.send('file_info domain=d1&key=sum1')).checksum, `MD5:${md5}`);
    const bad = createHash('md5').update('other').digest('hex');
    const s2 = await store1('sum2', 'checked', { checksum: `MD5:${bad}`, checksumverify: '1' }, 'sums');
    assert.equal(s2.reply, `ERR checksum_mismatch ${eurl(`Expected: MD5:${bad}; actual: MD5:${md5}; path: ${s2.path}`)}`);
    const s3 = await store1('sum3', 'checked', { checksum: 'SHA1:zz' }, 'sums');
    assert.match(s3.reply, /^ERR invalid_checksum_format /);
    // a class with a hashtype but no checksum given reports MISSING
    const s4 = await store1('sum4', 'x', {}, 'sums');
    assert.equal(s4.reply, 'OK ');
    assert.equal(okArgs(await c.send('file_info domain=d1&key=sum4')).checksum, 'MISSING');
  });

  test('overwriting a key queues the old fid for deletion', async () => {
    const before = (await store.queueDepths()).delete;
    const s1 = await store1('over', 'one');
    const s2 = await store1('over', 'second');
    assert.equal(s2.reply, 'OK ');
    assert.notEqual(s1.fid, s2.fid);
    assert.equal(okArgs(await c.send('file_info domain=d1&key=over')).fid, s2.fid);
    assert.ok((await store.queueDepths()).delete > before);
  });

  test('rename, updateclass, delete', async () => {
    await store1('r1', 'rename me');
    await store1('r2', 'taken');
    assert.equal(await c.send('rename domain=d1&from_key=r1&to_key=r2'), "ERR key_exists Target+key+name+already+exists%3B+can%27t+overwrite.");
    assert.equal(await c.send('rename domain=d1&from_key=nosuch&to_key=r9'), 'ERR unknown_key unknown_key');
    assert.equal(await c.send('rename domain=d1&from_key=r1'), 'ERR no_key no_key');
    assert.equal(await c.send('rename domain=d1&from_key=r1&to_key=r3'), 'OK ');
    assert.equal(await c.send('file_info domain=d1&key=r1'), 'ERR unknown_key unknown_key');
    assert.equal(okArgs(await c.send('file_info domain=d1&key=r3')).length, '9');

    assert.equal(await c.send('updateclass domain=d1&key=r3&class=nosuch'), 'ERR class_not_found Class+not+found');
    assert.equal(await c.send('updateclass domain=d1&key=nosuch&class=sums'), 'ERR invalid_key invalid_key');
    assert.equal(await c.send('updateclass domain=d1&key=r3'), 'ERR no_class No+class+provided');
    assert.equal(await c.send('updateclass domain=d1&key=r3&class=sums'), 'OK ');
    assert.equal(okArgs(await c.send('file_info domain=d1&key=r3')).class, 'sums');

    assert.equal(await c.send('delete domain=d1&key=r3'), 'OK ');
    assert.equal(await c.send('delete domain=d1&key=r3'), 'ERR unknown_key unknown_key');
    assert.equal(await c.send('delete domain=d1'), 'ERR no_key no_key');
    assert.equal(await c.send('get_paths domain=d1&key=r3&noverify=1'), 'ERR unknown_key unknown_key');
  });

  test('list_keys pages with after/next_after; list_fids counts from a fid', async () => {
    for (const k of ['ls/a', 'ls/b', 'ls/c', 'ls_x']) await store1(k, k);
    assert.deepEqual(okArgs(await c.send('list_keys domain=d1&prefix=ls%2F&limit=2')), {
      key_count: '2', key_1: 'ls/a', key_2: 'ls/b', next_after: 'ls/b',
    });
    assert.deepEqual(okArgs(await c.send('list_keys domain=d1&prefix=ls/&after=ls/b&limit=2')), {
      key_count: '1', key_1: 'ls/c', next_after: 'ls/c',
    });
    assert.equal(await c.send('list_keys domain=d1&prefix=ls/&after=ls/c'), 'ERR none_match No+keys+match+that+pattern+and+after-value+%28if+any%29.');
    assert.equal(await c.send('list_keys domain=d1&prefix=ls/&after=zz'), 'ERR after_mismatch Pattern+does+not+match+the+after-value%3F');
    assert.equal(await c.send('list_keys domain=d1&prefix=50%25'), 'ERR invalid_chars Patterns+must+not+contain+backslashes+%28\\%29+or+percent+signs+%28%25%29.');
    // '_' is a literal, not a LIKE wildcard
    assert.deepEqual(okArgs(await c.send('list_keys domain=d1&prefix=ls_')), { key_count: '1', key_1: 'ls_x', next_after: 'ls_x' });
    assert.equal(await c.send('list_keys domain=nosuch'), 'ERR unreg_domain Domain+name+invalid/not+found');

    const all = okArgs(await c.send('list_fids from=0&to=500'));
    const n = Number(all.fid_count);
    assert.ok(n >= 4);
    const fids = Array.from({ length: n }, (_, i) => Number(all[`fid_${i + 1}_fid`]));
    assert.deepEqual(fids, [...fids].sort((a, b) => a - b));
    const two = okArgs(await c.send(`list_fids from=${fids[0]}&to=2`));
    assert.equal(two.fid_count, '2');
    assert.equal(two.fid_1_fid, String(fids[1]), 'from is exclusive');
    for (const f of ['domain', 'class', 'key', 'length', 'devcount']) assert.ok(`fid_1_${f}` in two);
    assert.deepEqual(okArgs(await c.send(`list_fids from=${fids[n - 1]}&to=10`)), { fid_count: '0' });
  });

  test('get_paths skips unreadable devices; create_open needs a writable one', async () => {
    const s = await store1('states', 'state test');
    const { hostname } = cluster.devices.get(Number(s.devid)) as { hostname: string };
    await c.ok('set_state', { host: hostname, device: s.devid, state: 'readonly' });
    assert.equal(okArgs(await c.send('get_paths domain=d1&key=states&noverify=1')).paths, '1');
    await c.ok('set_state', { host: hostname, device: s.devid, state: 'down' });
    assert.deepEqual(okArgs(await c.send('get_paths domain=d1&key=states&noverify=1')), { paths: '0' });
    await c.ok('set_state', { host: hostname, device: s.devid, state: 'alive' });
    // every device down: nowhere to write
    for (const [devid, d] of cluster.devices) await c.ok('set_state', { host: d.hostname, device: devid, state: 'down' });
    assert.equal(await c.send('create_open domain=d1&key=nowhere'), 'ERR no_devices No+devices+found+to+store+file');
    for (const [devid, d] of cluster.devices) await c.ok('set_state', { host: d.hostname, device: devid, state: 'alive' });
    assert.equal(okArgs(await c.send('get_paths domain=d1&key=states&noverify=1')).paths, '1');
  });

  test('keys longer than the database holds get a clear error', async () => {
    const long = 'k'.repeat(store.maxKeyLength + 1);
    assert.match(await c.send(`create_open domain=d1&key=${long}`), /^ERR key_too_long /);
    await store1('short', 'x');
    assert.match(await c.send(`rename domain=d1&from_key=short&to_key=${long}`), /^ERR key_too_long /);
    const ok = 'k'.repeat(store.maxKeyLength);
    assert.equal((await store1(ok, 'fits')).reply, 'OK ');
  });

  test('file_debug by key and by fid', async () => {
    const s = await store1('dbg', 'debug me');
    const byKey = okArgs(await c.send('file_debug domain=d1&key=dbg'));
    assert.equal(byKey.fid_fid, s.fid);
    assert.equal(byKey.fid_dkey, 'dbg');
    assert.equal(byKey.devids, s.devid);
    assert.equal(byKey[`devpath_${s.devid}`], s.path);
    assert.equal(byKey.checksum, 'NONE');
    assert.deepEqual(okArgs(await c.send(`file_debug fid=${s.fid}`)), byKey);
    assert.equal(await c.send('file_debug domain=d1&key=nosuch'), 'ERR unknown_key unknown_key');
  });
});
