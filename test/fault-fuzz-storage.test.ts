/**
 * Protocol fuzzing of the storage node, a real mogstored process on
 * loopback: batches of bad HTTP (odd methods, `..` and encoded traversal,
 * NUL bytes, huge headers, Content-Length that lies either way, bad chunked
 * bodies, binary garbage), then slow clients and a connection flood. After
 * every batch the node must be running, answer a PUT and GET, have written
 * nothing outside its device directories, answered no request with a 5xx
 * and left no temp file. Slow and idle clients are hung up on (header,
 * idle and keep-alive timeouts of 1 s here) and their descriptors come
 * back. Reproduce a failure with MOGFS_FUZZ_SEED=<the printed seed>.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isTempName } from '../src/storage';
import { Processes, fuzzSeed, listFiles } from './helpers/faults';
import type { StoredProcess } from './helpers/faults';
import { Rng, exchange, fdCount, openIdle } from './helpers/fuzz';
import { waitFor } from './helpers/multitracker';

const seed = fuzzSeed();
const rng = new Rng(seed);
const procs = new Processes();
let root: string;
let docroot: string;
let node: StoredProcess;
let healthSeq = 0;
const statuses = new Map<number, number>();

const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'OPTIONS', 'POST', 'PROPFIND', 'BREW', 'G\0T', 'PUT ', 'CONNECT', 'TRACE', 'get'];
const PATHS = [
  '/dev1/0/000/000/0000000001.fid', '/dev1/../../outside.fid', '/dev1/%2e%2e/%2e%2e/outside.fid', '/dev1/%252e%252e/x.fid',
  '/dev1/a%00b.fid', '/dev1/a%2fb.fid', '/dev1/..%5c..%5coutside.fid', '/dev1/..\\..\\outside.fid', '/dev9/x.fid', '/', '//dev1//x.fid',
  '/dev1/usage', '/dev1/', '/dev1', '*', 'http://evil.example/dev1/x.fid', '/dev1/x.fid?a=../../b', '/dev1/%', '/dev1/%zz.fid',
  '/dev2/../dev1/x.fid', '/dev1/./x.fid', '/../dev1/x.fid', '/dev1/' + 'a/'.repeat(3000) + 'x.fid', '/dev1/' + 'b'.repeat(5000) + '.fid',
];

function randomPath(): string {
  if (rng.chance(0.2)) return '/dev1/' + [...rng.bytes(1 + rng.int(30))].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
  return rng.pick(PATHS);
}

/** One raw request: its bytes, in one or two pieces (a body that lies about its length, then the end of our sending). */
function fuzzRequest(): Buffer[] {
  const kind = rng.int(8);
  if (kind === 0) return [rng.bytes(1 + rng.int(3000))];
  const method = rng.pick(METHODS);
  const head = [`${method} ${randomPath()} HTTP/1.${rng.int(2)}`, 'Host: 127.0.0.1'];
  let body: Buffer = Buffer.alloc(0);
  switch (kind) {
    case 1: head.push(`X-Huge: ${'h'.repeat(20_000 + rng.int(50_000))}`); break;
    case 2: for (let i = 0; i < 300; i++) head.push(`X-${i}: ${rng.word(20)}`); break;
    case 3: body = rng.bytes(rng.int(200_000)); head.push(`Content-Length: ${body.length + 1 + rng.int(1000)}`); break; // says more than comes
    case 4: body = rng.bytes(1 + rng.int(200_000)); head.push(`Content-Length: ${rng.int(body.length)}`); break; // says less than comes
    case 5: head.push(rng.pick(['Content-Length: -5', 'Content-Length: 1e3', 'Content-Length: 5, 6', 'Content-Length: 99999999999999999999'])); break;
    case 6: head.push('Transfer-Encoding: chunked'); body = Buffer.from(rng.pick(['zz\r\nabc\r\n0\r\n\r\n', '5\r\nab', 'ffffffffffffffff\r\nx', '3\r\nabc\r\n'])); break;
    default: head.push(`${rng.word(5)}\0: ${rng.word(5)}`, `Content-Length: ${rng.int(10)}`);
  }
  return [Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body];
}

async function assertHealthy(what: string): Promise<void> {
  assert.ok(Processes.alive(node.daemon), `mogstored died after ${what} (seed ${seed}); stderr: ${node.daemon.stderr().slice(-2000)}`);
  const usage = await fetch(`http://127.0.0.1:${node.httpPort}/dev1/usage`);
  assert.equal(usage.status, 200, `usage after ${what}`);
  await usage.arrayBuffer();
  const url = `http://127.0.0.1:${node.httpPort}/dev2/0/000/000/${String(++healthSeq).padStart(10, '0')}.fid`;
  const body = `health ${healthSeq}`.repeat(1 + rng.int(10_000));
  assert.equal((await fetch(url, { method: 'PUT', body })).status, 201, `PUT after ${what}`);
  assert.equal(await (await fetch(url)).text(), body, `GET after ${what}`);
  // Nothing but what is expected beside the docroot, and no temp file left once requests are over.
  assert.deepEqual(await listFiles(path.join(root, 'outside')), ['sentinel'], `files outside the docroot after ${what}`);
  const top = (await fs.readdir(docroot)).sort();
  assert.deepEqual(top, ['dev1', 'dev2'], `docroot after ${what}`);
  await waitFor(`no temp file left after ${what}`, async () => !(await listFiles(docroot)).some((f) => isTempName(path.basename(f))), 15_000);
}

before(async () => {
  console.log(`fault-fuzz-storage seed ${seed} (MOGFS_FUZZ_SEED=${seed} repeats this run)`);
  root = await procs.tempDir('mogfs-fuzz-storage-');
  docroot = path.join(root, 'docroot');
  for (const d of ['dev1', 'dev2']) await fs.mkdir(path.join(docroot, d), { recursive: true });
  await fs.mkdir(path.join(root, 'outside'));
  await fs.writeFile(path.join(root, 'outside', 'sentinel'), 'x');
  node = await procs.mogstored(docroot, '127.0.0.1', { extra: ['--headers-timeout', '1', '--idle-timeout', '1', '--keepalive-timeout', '1'] });
  await assertHealthy('start-up');
});

after(() => procs.stopAll());

test('bad requests: no 5xx, nothing outside the devices, no temp file left, and the node keeps serving', async () => {
  let sent = 0;
  for (let batch = 0; batch < 6; batch++) {
    const reqs = Array.from({ length: 40 }, fuzzRequest);
    const answers = await Promise.all(reqs.map((r) => exchange(node.httpPort, '127.0.0.1', r, 5000)));
    for (const a of answers) {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(a.toString('latin1'));
      if (m) statuses.set(Number(m[1]), (statuses.get(Number(m[1])) ?? 0) + 1);
    }
    sent += reqs.length;
    await assertHealthy(`fuzz batch ${batch}`);
  }
  console.log(`fault-fuzz-storage: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  const errors = [...statuses.keys()].filter((s) => s >= 500 && s !== 501 && s !== 505);
  assert.deepEqual(errors, [], `server errors answered to fuzzed requests (seed ${seed}): ${JSON.stringify(Object.fromEntries(statuses))}`);
});

test('slow clients and a flood of idle connections are hung up on; descriptors come back', async () => {
  const pid = node.daemon.child.pid!;
  const base = await fdCount(pid);
  // Headers never finished; a body that stops arriving; connections that say nothing; one idle keep-alive.
  const slowHeaders = await openIdle(node.httpPort, '127.0.0.1', 20, () => 'GET /dev1/usage HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  const stalledBodies = await openIdle(node.httpPort, '127.0.0.1', 20, (i) =>
    Buffer.concat([Buffer.from(`PUT /dev1/0/000/001/${String(i).padStart(10, '0')}.fid HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n`), Buffer.alloc(100_000, 1)]));
  const silent = await openIdle(node.httpPort, '127.0.0.1', 300);
  const keptAlive = await openIdle(node.httpPort, '127.0.0.1', 10, () => 'GET /dev1/usage HTTP/1.1\r\nHost: x\r\n\r\n');
  try {
    await waitFor('temp files of the stalled uploads to exist', async () => (await listFiles(docroot)).filter((f) => isTempName(path.basename(f))).length > 0, 10_000);
    await assertHealthy('opening 350 slow or idle connections');
    const all = [slowHeaders, stalledBodies, silent, keptAlive];
    await waitFor('every slow or idle connection to be hung up on', async () => all.every((c) => c.closed() === c.sockets.length), 30_000);
    await waitFor('mogstored\'s descriptors back to where they were', async () => (await fdCount(pid)) <= base + 5, 30_000);
    await assertHealthy('slow clients');
  } finally {
    for (const c of [slowHeaders, stalledBodies, silent, keptAlive]) c.destroy();
  }
});
