/**
 * Two hosts, as the seed deploys them: each in its own network namespace
 * with a tracker and a storage node (two devices), both trackers on one
 * MariaDB in a third namespace. Files stored through either tracker are
 * copied to both hosts and read through either; with one host cut off (its
 * link down) the other serves every file and takes new ones; back up, the
 * cluster catches up (every file on both hosts again).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { MOGFS } from './helpers/cli';
import { inCI } from './helpers/engines';
import { startMariadb } from './helpers/mariadb';
import type { MariadbHandle } from './helpers/mariadb';
import { waitFor } from './helpers/multitracker';
import { createNet, netnsProblem } from './helpers/netns';
import type { Net, NetHost } from './helpers/netns';

const CLI = path.dirname(MOGFS);
const TRACKER_PORT = 7001;
const STORAGE_PORT = 7500;

let skip: string | null = null;
let net: Net | null = null;
let db: MariadbHandle | null = null;
let sql: mysql.Connection | null = null;
let dir = '';
const procs: ChildProcess[] = [];

const tracker = (h: NetHost): string => `${h.addr}:${TRACKER_PORT}`;

/** Runs `mogfs`/`mogadm` inside a host, as an operator on that machine would. */
async function run(h: NetHost, tool: 'mogfs.js' | 'mogadm.js', args: string[]): Promise<string> {
  const r = await h.exec(process.execPath, [path.join(CLI, tool), ...args], 300_000);
  if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')} in ${h.name} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function count(q: string): Promise<number> {
  const [rows] = await (sql as mysql.Connection).query<mysql.RowDataPacket[]>(q);
  return Number(rows[0].n);
}

/** Files whose copies are not on two distinct hosts. */
const notOnBoth = (): Promise<number> => count(`SELECT COUNT(*) AS n FROM file f WHERE
  (SELECT COUNT(DISTINCT d.hostid) FROM file_on fo JOIN device d ON d.devid = fo.devid WHERE fo.fid = f.fid) < 2`);

async function tree(root: string, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const p = path.join(root, `d${i % 4}`, `${tag}-${i}.bin`);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, randomBytes(1000 + i * 97));
  }
}

/** Every file of `src` read back through `h`'s tracker into a fresh folder, compared byte for byte. */
async function readsBack(h: NetHost, src: string, prefix: string): Promise<void> {
  const out = await fs.mkdtemp(path.join(dir, 'export-'));
  await run(h, 'mogfs.js', ['export', out, '--trackers', tracker(h), '--domain', 'default', '--prefix', prefix, '--no-progress']);
  const r = await h.exec('diff', ['-r', src, out]);
  assert.equal(r.code, 0, `what ${h.name} reads differs from what was stored:\n${r.stdout}${r.stderr}`);
}

before(async () => {
  skip = await netnsProblem();
  if (skip) {
    if (inCI()) throw new Error(`CI must run the two-host test: ${skip}`);
    return;
  }
  net = await createNet(['db', 'a', 'b']);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-netns-'));
  const dbHost = net.host('db');
  db = await startMariadb({ netns: dbHost.ns, bindAddress: dbHost.addr });
  sql = await mysql.createConnection({ socketPath: db.socket, user: 'root' });
  // The trackers connect over the network, as from other machines.
  await sql.query("CREATE USER IF NOT EXISTS 'root'@'%'");
  await sql.query("GRANT ALL ON *.* TO 'root'@'%'");
  await sql.query('CREATE DATABASE mogilefs');
  await sql.query('USE mogilefs');
  const dsn = `mysql://root@${dbHost.addr}:${new URL(db.url).port}/mogilefs`;
  for (const [name, devids] of [['a', [1, 2]], ['b', [3, 4]]] as const) {
    const h = net.host(name);
    const docroot = path.join(dir, name);
    for (const d of devids) await fs.mkdir(path.join(docroot, `dev${d}`), { recursive: true });
    const env = { ...process.env, MOGFS_LOG_LEVEL: 'warn' };
    procs.push(h.spawn(process.execPath, [path.join(CLI, 'mogstored.js'), '--docroot', docroot, '--httplisten', `${h.addr}:${STORAGE_PORT}`,
      '--mgmtlisten', `${h.addr}:${STORAGE_PORT + 1}`, '--usage-interval', '1'], { stdio: 'ignore', env }));
    procs.push(h.spawn(process.execPath, [path.join(CLI, 'mogilefsd.js'), '--skipconfig', '--listen', tracker(h), '--db', dsn],
      { stdio: 'ignore', env }));
  }
  const a = net.host('a');
  await waitFor('tracker a to answer', async () => (await a.exec(process.execPath, [path.join(CLI, 'mogadm.js'), `--trackers=${tracker(a)}`, 'domain', 'list'])).code === 0, 30_000);
  for (const [name, devids] of [['a', [1, 2]], ['b', [3, 4]]] as const) {
    const h = net.host(name);
    await run(a, 'mogadm.js', [`--trackers=${tracker(a)}`, 'host', 'add', name, `--ip=${h.addr}`, `--port=${STORAGE_PORT}`, '--status=alive']);
    for (const d of devids) await run(a, 'mogadm.js', [`--trackers=${tracker(a)}`, 'device', 'add', name, String(d)]);
  }
  await run(a, 'mogadm.js', [`--trackers=${tracker(a)}`, 'domain', 'add', 'default']);
  await run(a, 'mogadm.js', [`--trackers=${tracker(a)}`, 'class', 'modify', 'default', 'default', '--mindevcount=2']);
});

after(async () => {
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.once('exit', r)))));
  await sql?.end().catch(() => undefined);
  await db?.stop();
  await net?.destroy();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

test('stored through either tracker, copied to both hosts, read through either', async (t) => {
  if (skip) return t.skip(skip);
  const a = (net as Net).host('a');
  const b = (net as Net).host('b');
  const viaA = path.join(dir, 'via-a');
  const viaB = path.join(dir, 'via-b');
  await tree(viaA, 40, 'a');
  await tree(viaB, 40, 'b');
  // A tracker refuses writes until its monitor has seen the devices: retried until they are.
  await waitFor('an import through tracker a', async () => { await run(a, 'mogfs.js', ['import', viaA, '--trackers', tracker(a), '--domain', 'default', '--prefix', 'via-a', '--no-progress']); return true; }, 60_000);
  await waitFor('an import through tracker b', async () => { await run(b, 'mogfs.js', ['import', viaB, '--trackers', tracker(b), '--domain', 'default', '--prefix', 'via-b', '--no-progress']); return true; }, 60_000);
  await waitFor('every file on both hosts', async () => (await notOnBoth()) === 0, 120_000);
  assert.equal(await count('SELECT COUNT(*) AS n FROM file'), 80);
  for (const h of [a, b]) {
    await readsBack(h, viaA, 'via-a');
    await readsBack(h, viaB, 'via-b');
  }
});

test('host a cut off: b serves every file and takes new ones; a back: the cluster catches up', async (t) => {
  if (skip) return t.skip(skip);
  const a = (net as Net).host('a');
  const b = (net as Net).host('b');
  await a.link(false);
  try {
    await readsBack(b, path.join(dir, 'via-a'), 'via-a');
    await readsBack(b, path.join(dir, 'via-b'), 'via-b');
    const during = path.join(dir, 'during');
    await tree(during, 30, 'during');
    // Until b's monitor sees a's devices gone, an upload may be offered a device on a: the client moves on to the next.
    await waitFor('an import through b while a is away', async () => {
      await run(b, 'mogfs.js', ['import', during, '--trackers', tracker(b), '--domain', 'default', '--prefix', 'during', '--no-progress']);
      return true;
    }, 60_000);
    await readsBack(b, during, 'during');
    assert.ok((await notOnBoth()) >= 30, 'files stored while a was away cannot be on a');
  } finally {
    await a.link(true);
  }
  await waitFor('every file on both hosts again', async () => (await notOnBoth()) === 0, 120_000);
  for (const prefix of ['via-a', 'via-b', 'during']) await readsBack(a, path.join(dir, prefix), prefix);
});
