/**
 * The tracker's line handling under good and bad input: pipelining, case,
 * blank lines, unknown commands, bad percent-encoding, over-long lines,
 * missing arguments, `!` commands and callid echo. After each bad request the
 * same connection must still answer, and the tracker must stay up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../src/store';
import type { MetadataStore } from '../src/store';
import type { Tracker } from '../src/tracker';
import { MAX_LINE_BYTES } from '../src/tracker/connection';
import { LineClient, okArgs, startTestTracker } from './helpers/tracker';

describe('tracker line protocol', () => {
  let dir: string;
  let store: MetadataStore;
  let tracker: Tracker;
  let c: LineClient;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-trkproto-'));
    store = await openStore({ dsn: `sqlite:${path.join(dir, 'db.sqlite')}` });
    tracker = await startTestTracker(store);
    c = await LineClient.connect(tracker.port);
    assert.equal(await c.send('create_domain domain=d1'), 'OK domain=d1');
  });
  after(async () => {
    c.close();
    await tracker.close();
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const stillUsable = async (client = c): Promise<void> => {
    assert.equal(await client.send('noop '), 'OK ');
  };

  test('unknown and malformed commands get unknown_command', async () => {
    assert.equal(await c.send('frobnicate a=1'), 'ERR unknown_command Unknown+server+command');
    assert.equal(await c.send('get-paths domain=d1'), 'ERR unknown_command Unknown+server+command');
    assert.equal(await c.send('\x01\x02\x03'), 'ERR unknown_command Unknown+server+command');
    assert.equal(await c.send('__proto__ '), 'ERR unknown_command Unknown+server+command');
    assert.equal(await c.send('constructor '), 'ERR unknown_command Unknown+server+command');
    await stillUsable();
  });

  test('command names are case-insensitive; bare LF and extra spaces are accepted', async () => {
    assert.equal(await c.send('NOOP'), 'OK ');
    assert.equal(await c.send('  Noop   '), 'OK ');
    c.write('noop\n');
    assert.equal(await c.readLine(), 'OK ');
  });

  test('blank lines get no reply, as in the original', async () => {
    c.write('\r\n\n   \r\nnoop \r\n');
    assert.equal(await c.readLine(), 'OK ');
  });

  test('pipelined requests are answered in order', async () => {
    const lines = ['noop ', 'get_paths domain=nosuch&key=x', 'sleep duration=0.05', 'list_keys domain=d1', 'create_domain domain=d2', 'noop callid=42'];
    c.write(lines.map((l) => l + '\r\n').join(''));
    const replies = [];
    for (let i = 0; i < lines.length; i++) replies.push(await c.readLine());
    assert.deepEqual(replies, [
      'OK ',
      'ERR unreg_domain Domain+name+invalid/not+found',
      'OK ',
      'ERR none_match No+keys+match+that+pattern+and+after-value+%28if+any%29.',
      'OK domain=d2',
      'OK callid=42',
    ]);
  });

  test('a request split across packets is one request', async () => {
    c.write('create_dom');
    await new Promise((r) => setTimeout(r, 20));
    c.write('ain domain=sp');
    await new Promise((r) => setTimeout(r, 20));
    c.write('lit\r\n');
    assert.equal(await c.readLine(), 'OK domain=split');
  });

  test('bad percent-encoding: a clear error, or kept literally like Perl', async () => {
    // %C3 alone is not UTF-8: refused rather than stored as a mangled key
    assert.match(await c.send('create_domain domain=bad%C3'), /^ERR bad_args .*UTF-8/);
    // '%' not followed by two hex digits is kept literally, as Perl's decoder does
    assert.equal(await c.send('create_domain domain=50%zz'), 'OK domain=50%25zz');
    assert.equal(await c.send('create_domain domain=%'), 'OK domain=%25');
    assert.equal(await c.send('create_domain domain=a+b%20c'), 'OK domain=a+b+c');
    await stillUsable();
  });

  test('missing arguments and unknown domains get the original codes', async () => {
    assert.equal(await c.send('get_paths '), 'ERR no_domain No+domain+provided');
    assert.equal(await c.send('get_paths domain='), 'ERR no_domain No+domain+provided');
    assert.equal(await c.send('get_paths domain=d1'), 'ERR no_key no_key');
    assert.equal(await c.send('delete domain=nosuch&key=k'), 'ERR unreg_domain Domain+name+invalid/not+found');
    assert.equal(await c.send('delete_domain domain=nosuch'), 'ERR domain_not_found Domain+not+found');
    assert.equal(await c.send('create_open domain=d1&class=nosuch&key=k'), 'ERR unreg_class unreg_class');
    assert.equal(await c.send('updateclass domain=d1&key=k&class=nosuch'), 'ERR class_not_found Class+not+found');
    assert.equal(await c.send('create_close domain=d1'), 'ERR no_fid no_fid');
    assert.equal(await c.send('set_state '), 'ERR bad_params Invalid+parameters+to+command%3B+please+see+documentation');
    assert.equal(await c.send('get_paths a&&=&=x&&'), 'ERR no_domain No+domain+provided');
    await stillUsable();
  });

  test('errors carry the callid back, as the original does', async () => {
    assert.equal(await c.send('get_paths domain=nosuch&key=x&callid=abc'), 'ERR unreg_domain Domain+name+invalid/not+found abc');
  });

  test('an over-long line gets one ERR and the connection goes on', async () => {
    c.write('noop x=' + 'a'.repeat(MAX_LINE_BYTES + 10) + '\r\n');
    assert.match(await c.readLine(), /^ERR line_too_long /);
    await stillUsable();
    // arriving in pieces, still one ERR for the whole line
    for (let i = 0; i < 5; i++) c.write('b'.repeat(MAX_LINE_BYTES / 2));
    c.write('\r\nnoop \r\n');
    assert.match(await c.readLine(), /^ERR line_too_long /);
    assert.equal(await c.readLine(), 'OK ');
  });

  test('a client sending megabytes without a line end is hung up on; others carry on', async () => {
    const flood = await LineClient.connect(tracker.port);
    const mib = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 17 && !flood.socket.destroyed; i++) flood.write(mib);
    // The ERR comes first; the hang-up may reset the connection before we read it.
    const first: unknown = await flood.readLine().catch((e: unknown) => e);
    if (typeof first === 'string') {
      assert.match(first, /^ERR line_too_long /);
      await assert.rejects(flood.readLine(), /closed|ECONNRESET|EPIPE/);
    } else {
      assert.match(String(first), /closed|ECONNRESET|EPIPE/);
    }
    flood.close();
    await stillUsable();
  });

  test('a failing store gives ERR internal_error and the connection stays usable', async () => {
    const brokenDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-trkbroken-'));
    const broken = await openStore({ dsn: `sqlite:${path.join(brokenDir, 'db.sqlite')}` });
    const t = await startTestTracker(broken);
    const bc = await LineClient.connect(t.port);
    try {
      await broken.close();
      assert.match(await bc.send('create_domain domain=x'), /^ERR internal_error \S+/);
      assert.equal(await bc.send('noop '), 'OK ');
    } finally {
      bc.close();
      await t.close();
      await fs.rm(brokenDir, { recursive: true, force: true });
    }
  });

  test('a line just under the limit is processed', async () => {
    const key = 'k'.repeat(1000);
    const line = `list_keys domain=d1&prefix=${key}&x=${'y'.repeat(MAX_LINE_BYTES - 1100)}`;
    assert.ok(Buffer.byteLength(line) <= MAX_LINE_BYTES);
    assert.match(await c.send(line), /^ERR none_match /);
  });

  test('! commands answer in lines ending with "."', async () => {
    c.write('!version\r\n');
    assert.match(await c.readLine(), /\S/);
    assert.equal(await c.readLine(), '.');
    c.write('!stats\r\n');
    const lines: string[] = [];
    for (let l = await c.readLine(); l !== '.'; l = await c.readLine()) lines.push(l);
    assert.ok(lines.some((l) => /^uptime \d+$/.test(l)), lines.join('|'));
    await stillUsable();
  });

  test('a client that disconnects mid-request leaves the tracker up', async () => {
    const other = await LineClient.connect(tracker.port);
    other.write('sleep duration=0.2\r\nnoop ');
    other.close();
    const again = await LineClient.connect(tracker.port);
    await stillUsable(again);
    again.close();
  });

  test('replies encode values the way MogileFS::Util::eurl does', async () => {
    assert.equal(await c.send('create_domain domain=sp%C3%A4ce+%26+%3D+%2F'), 'OK domain=sp%C3%A4ce+%26+%3D+/');
    const d = okArgs(await c.send('get_domains '));
    assert.ok(Object.values(d).includes('späce & = /'));
  });
});
