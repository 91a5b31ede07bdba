/**
 * Protocol fuzzing of the tracker, a real mogilefsd process on loopback:
 * batches of random and mutated request lines (real commands with mangled
 * arguments, huge arguments, bad percent-encodings, NUL bytes, binary
 * garbage, over-long lines), then slow clients and a connection flood. After
 * every batch the tracker must be running, have answered each line with
 * exactly one OK/ERR line, and still store and read a file. Idle and slow
 * clients must be hung up on (idle_timeout, 1 s here) so their descriptors
 * come back. Reproduce a failure with MOGFS_FUZZ_SEED=<the printed seed>.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { MogileFS, MogileFSAdmin, TrackerClient } from '../src/client';
import { MAX_LINE_BYTES } from '../src/tracker/connection';
import { Processes, fuzzSeed } from './helpers/faults';
import type { StoredProcess } from './helpers/faults';
import { Rng, fdCount, openIdle } from './helpers/fuzz';
import { LineClient } from './helpers/tracker';
import { waitFor } from './helpers/multitracker';
import type { Daemon } from './helpers/daemons';

const seed = fuzzSeed();
const rng = new Rng(seed);
const procs = new Processes();
let tracker: { daemon: Daemon; port: number };
let node: StoredProcess;
let client: MogileFS;
let admin: MogileFSAdmin;
let healthSeq = 0;

/** Commands that change only what the fuzzer owns (domain fz); layout-changing ones (set_state...) and sleep are left out. */
const TEMPLATES: Array<[string, Record<string, string>]> = [
  ['create_open', { domain: 'fz', key: 'k1', class: 'default', multi_dest: '1', fid: '0' }],
  ['create_close', { domain: 'fz', key: 'k1', fid: '12', devid: '1', path: 'http://127.0.0.1:1/dev1/0/000/000/0000000012.fid', size: '5' }],
  ['get_paths', { domain: 'fz', key: 'k1', noverify: '1', pathcount: '2' }],
  ['file_info', { domain: 'fz', key: 'k1', devices: '1' }],
  ['file_debug', { fid: '12' }],
  ['delete', { domain: 'fz', key: 'k1' }],
  ['rename', { domain: 'fz', from_key: 'k1', to_key: 'k2' }],
  ['list_keys', { domain: 'fz', prefix: 'k', after: '', limit: '100' }],
  ['list_fids', { from: '0', to: '1000' }],
  ['updateclass', { domain: 'fz', key: 'k1', class: 'default' }],
  ['edit_file', { domain: 'fz', key: 'k1' }],
  ['get_domains', {}],
  ['get_hosts', { hostid: '1' }],
  ['get_devices', { devid: '1' }],
  ['create_domain', { domain: 'fz2' }],
  ['create_class', { domain: 'fz', class: 'c1', mindevcount: '2' }],
  ['server_settings', {}],
  ['noop', {}],
  ['replicate_now', {}],
  ['mogfs_lookup', { domain: 'fz', key: 'k1' }],
  ['mogfs_list_dir', { domain: 'fz', prefix: 'a/', limit: '10' }],
  ['mogfs_stats', {}],
  ['unknowncmd', { a: 'b' }],
];

const BAD_VALUES = ['%', '%G1', '%zz', '%C3%28', '%FF%FE', '%00', '%E2%82', '-1', '99999999999999999999', '1e308', 'NaN', '', '%25', '..%2F..%2F', '%0D%0A'];

/** One value, mangled one of several ways. */
function mutateValue(v: string): string {
  switch (rng.int(7)) {
    case 0: return rng.pick(BAD_VALUES);
    case 1: return rng.word(1 + rng.int(40));
    case 2: return 'x'.repeat(1000 + rng.int(MAX_LINE_BYTES - 2000)); // huge but within the line limit
    case 3: return v + '\0' + v;
    case 4: return encodeURIComponent(String.fromCodePoint(rng.int(0x10ffff) & ~0x800)); // random unicode, valid
    case 5: return [...rng.bytes(1 + rng.int(20))].map((b) => '%' + b.toString(16).padStart(2, '0')).join(''); // random bytes, often invalid UTF-8
    default: return v;
  }
}

function mutatedLine(): Buffer {
  const [cmd, args] = rng.pick(TEMPLATES);
  const pairs = Object.entries(args).filter(() => !rng.chance(0.15)).map(([k, v]) => [rng.chance(0.1) ? mutateValue(k) : k, rng.chance(0.5) ? mutateValue(v) : v]);
  if (rng.chance(0.2)) pairs.push(...pairs.slice(0, 1)); // a repeated argument
  const name = rng.chance(0.1) ? cmd.toUpperCase() : cmd;
  return Buffer.from(`${name} ${pairs.map(([k, v]) => `${k}=${v}`).join(rng.chance(0.05) ? '&&' : '&')}`, 'latin1');
}

/** A request line as raw bytes: never holding a newline, never an admin `!` command (those answer in several lines). */
function fuzzLine(): Buffer {
  let b: Buffer;
  switch (rng.int(6)) {
    case 0: b = rng.bytes(1 + rng.int(2000)); break;
    case 1: b = Buffer.concat([Buffer.from(rng.pick(TEMPLATES)[0] + ' '), rng.bytes(rng.int(300))]); break;
    case 2: b = Buffer.alloc(MAX_LINE_BYTES + 1 + rng.int(100_000), 'a'); break;
    default: b = mutatedLine();
  }
  for (let i = 0; i < b.length; i++) if (b[i] === 0x0a) b[i] = 0x20;
  if (b[0] === 0x21) b[0] = 0x3f;
  return b;
}

/** Replies the tracker owes for a line: one, or none for a blank line (connection.ts). */
function repliesFor(line: Buffer): number {
  const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
  if (end > MAX_LINE_BYTES) return 1;
  return /\S/.test(line.toString('utf8', 0, end)) ? 1 : 0;
}

async function assertHealthy(what: string): Promise<void> {
  assert.ok(Processes.alive(tracker.daemon), `mogilefsd died after ${what} (seed ${seed}); stderr: ${tracker.daemon.stderr().slice(-2000)}`);
  const lc = await LineClient.connect(tracker.port);
  try {
    assert.equal(await lc.send('noop'), 'OK ', `noop after ${what}`);
  } finally {
    lc.close();
  }
  const key = `h/${healthSeq++}`;
  const data = randomBytes(1000 + rng.int(100_000));
  await client.storeBuffer(key, data);
  assert.ok((await client.getBuffer(key)).equals(data), `${key} reads back after ${what}`);
}

before(async () => {
  console.log(`fault-fuzz-tracker seed ${seed} (MOGFS_FUZZ_SEED=${seed} repeats this run)`);
  const dir = await procs.tempDir('mogfs-fuzz-tracker-');
  await fs.mkdir(path.join(dir, 'docroot', 'dev1'), { recursive: true });
  node = await procs.mogstored(path.join(dir, 'docroot'), '127.0.0.1');
  tracker = await procs.mogilefsd(`sqlite:${path.join(dir, 'db.sqlite')}`, ['--idle-timeout', '1']);
  const addr = `127.0.0.1:${tracker.port}`;
  admin = new MogileFSAdmin({ trackers: [addr] });
  await admin.createHost('h1', { ip: '127.0.0.1', port: node.httpPort, status: 'alive' });
  await admin.createDevice({ devid: 1, hostname: 'h1', state: 'alive' });
  await admin.createDomain('health');
  await admin.createDomain('fz');
  await waitFor('dev1 seen writeable', async () => (await admin.getDevices()).every((d) => d.observed_state === 'writeable'), 20_000);
  client = new MogileFS({ tracker: new TrackerClient({ trackers: [addr] }), domain: 'health' });
  await assertHealthy('start-up');
});

after(async () => {
  await client?.close().catch(() => undefined);
  admin?.close();
  await procs.stopAll();
});

test('random and mutated request lines: one answer each, and the tracker keeps serving', async () => {
  let lines = 0;
  for (let batch = 0; batch < 8; batch++) {
    const lc = await LineClient.connect(tracker.port);
    try {
      const sent = Array.from({ length: 150 }, fuzzLine);
      const owed = sent.reduce((n, l) => n + repliesFor(l), 0);
      for (const l of sent) lc.write(Buffer.concat([l, Buffer.from('\r\n')]));
      for (let i = 0; i < owed; i++) {
        const reply = await lc.readLine(20_000);
        assert.match(reply, /^(OK|ERR) /, `reply ${i} of batch ${batch} (seed ${seed})`);
      }
      lines += sent.length;
    } finally {
      lc.close();
    }
    await assertHealthy(`fuzz batch ${batch}`);
  }
  console.log(`fault-fuzz-tracker: ${lines} fuzzed lines answered`);
});

test('a line without end: over 16 MiB the tracker hangs up; under it the connection stays usable', async () => {
  const lc = await LineClient.connect(tracker.port);
  try {
    lc.write(Buffer.alloc(200_000, 'x'));
    lc.write('\r\nnoop\r\n');
    assert.match(await lc.readLine(), /^ERR line_too_long /);
    assert.equal(await lc.readLine(), 'OK ');
  } finally {
    lc.close();
  }
  const flood = await LineClient.connect(tracker.port);
  try {
    const chunk = Buffer.alloc(1024 * 1024, 'y');
    for (let i = 0; i < 18; i++) flood.write(chunk);
    await waitFor('the tracker to hang up on a 17 MiB line', async () => flood.socket.destroyed || flood.socket.readableEnded, 20_000);
  } finally {
    flood.close();
  }
  await assertHealthy('over-long lines');
});

test('slow and idle clients are hung up on after idle_timeout; a long request is not', async () => {
  const base = await fdCount(tracker.daemon.child.pid!);
  const halfLines = await openIdle(tracker.port, '127.0.0.1', 30, (i) => `get_paths domain=health&key=h/${i}`);
  const silent = await openIdle(tracker.port, '127.0.0.1', 300);
  // Sends requests and never reads the answers.
  const deaf = await LineClient.connect(tracker.port);
  deaf.socket.pause();
  deaf.write('noop\r\n'.repeat(20_000));
  try {
    await assertHealthy('opening 331 idle connections');
    await waitFor('every idle and half-line client to be hung up on', async () => halfLines.closed() === 30 && silent.closed() === 300, 30_000);
    await waitFor('the tracker\'s descriptors back to where they were', async () => (await fdCount(tracker.daemon.child.pid!)) <= base + 5, 30_000);
    // A request that outlasts idle_timeout is working, not idle.
    const lc = await LineClient.connect(tracker.port);
    try {
      assert.equal(await lc.send('sleep duration=2.5'), 'OK ');
    } finally {
      lc.close();
    }
    await assertHealthy('idle clients');
  } finally {
    halfLines.destroy();
    silent.destroy();
    deaf.close();
  }
});
