/**
 * `mogfs import` and `mogfs export` as a user runs them, against a real
 * cluster: a generated tree (nested folders, spaces, unicode, empty files, a
 * file of a few MB), re-runs that send nothing, a changed file sent again, a
 * dry run, failures reported with a non-zero exit, and an import killed
 * part-way then resumed, checked file by file, byte for byte, via export.
 * The walk and the tracker's listing are merged as two streams in key order:
 * names that sort differently as paths and as keys ('-' '.' '/', non-ASCII,
 * beyond the BMP) are listed in key order and found again on a re-run, a
 * stored side with extra and missing keys is merged right, and memory stays
 * flat from 10,000 to 50,000 files under a heap too small to hold them all.
 */
import { spawn } from 'node:child_process';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { allFiles } from '../src/client';
import { cliEnv, MOGFS, removePrivateHome, runMogfs, spawnMogfs } from './helpers/cli';
import { PEAK_RSS_PRELOAD, readPeakRss } from './helpers/peakrss';

/** Writes a tree and returns its files, relative path -> content. */
async function makeTree(root: string, extra = 0): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>([
    ['top.txt', Buffer.from('top\n')],
    ['empty', Buffer.alloc(0)],
    ['a/b/c/deep.bin', crypto.randomBytes(4096)],
    ['a/b/empty too', Buffer.alloc(0)],
    ['with space/file name.jpg', crypto.randomBytes(1000)],
    ['ünïcødé/日本語 ファイル.txt', Buffer.from('こんにちは')],
    ['odd/100% sure & more+plus.txt', Buffer.from('percent')],
    ['big/large.bin', crypto.randomBytes(3 * 1024 * 1024 + 17)],
  ]);
  for (let i = 0; i < extra; i++) files.set(`many/d${i % 7}/f${i}.dat`, crypto.randomBytes(64 + (i % 50)));
  for (const [rel, data] of files) {
    const abs = path.join(root, ...rel.split('/'));
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, data);
  }
  return files;
}

/** Key (UTF-8 byte) order: the tracker's listing order, and the order import now walks a tree in. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Names whose key order differs from a plain sort of each directory: a
 * directory `a` sorts as `a/`, after `a-b` and `a.b` ('-' < '.' < '/') and
 * before `a0`; `é` is two bytes above every ASCII name; U+FF71 sorts before
 * an emoji in UTF-8 bytes but after it in UTF-16 (JavaScript's own order).
 */
const ODD_NAMES = [
  'a-b', 'a.b', 'a/x', 'a/y-z', 'a/y/z', 'a/y.z', 'a/y0', 'a0', 'a b', '-dash', '.hidden', '..dots', 'Z', 'z',
  'é.txt', 'é/1', 'é-/2', 'ｱ', '😀', 'ｱ/😀', '~',
];

async function writeFiles(root: string, rels: string[]): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const rel of rels) {
    const abs = path.join(root, ...rel.split('/'));
    await fs.mkdir(path.dirname(abs), { recursive: true });
    const data = Buffer.from(`content of ${rel}\n`);
    await fs.writeFile(abs, data);
    files.set(rel, data);
  }
  return files;
}

/** The keys a dry run would upload, in the order it listed them. */
function dryRunKeys(stdout: string): string[] {
  return [...stdout.matchAll(/^upload (.*) \(\d+ bytes\)$/gm)].map((m) => m[1]);
}

async function storedKeys(c: Cluster, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const f of allFiles(c.client, prefix)) keys.push(f.key);
  return keys;
}

/** Exports with the CLI into a fresh folder and checks it holds exactly `files`, byte for byte, with their mtimes. */
async function exportAndCompare(c: Cluster, base: string[], prefix: string, files: Map<string, Buffer>, src: string, work: string): Promise<void> {
  const out = await fs.mkdtemp(path.join(work, 'export-'));
  const r = await runMogfs(['export', ...base, `--prefix=${prefix}`, out]);
  assert.equal(r.code, 0, r.stderr);
  const found: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const ent of await fs.readdir(dir, { withFileTypes: true })) {
      const r2 = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) await walk(path.join(dir, ent.name), r2);
      else found.push(r2);
    }
  };
  await walk(out, '');
  assert.deepEqual(found.sort(), [...files.keys()].sort());
  for (const [rel, data] of files) {
    const abs = path.join(out, ...rel.split('/'));
    assert.ok((await fs.readFile(abs)).equals(data), `${rel} is byte-identical`);
    const [a, b] = await Promise.all([fs.stat(abs, { bigint: true }), fs.stat(path.join(src, ...rel.split('/')), { bigint: true })]);
    const diff = a.mtimeNs - b.mtimeNs;
    assert.ok(diff < 5000n && diff > -5000n, `${rel} keeps its mtime (off by ${diff} ns)`);
  }
  // A second export finds everything in place.
  const again = await runMogfs(['export', ...base, `--prefix=${prefix}`, out]);
  assert.match(again.stdout, new RegExp(`^exported 0 files .* ${files.size} unchanged, 0 failed$`, 'm'));
}

forEachEngine((engine) => {
  describe('import and export', () => {
    let c: Cluster;
    let work: string;
    let base: string[];

    before(async () => {
      c = await startCluster({ engine });
      work = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-import-'));
      base = [`--trackers=${c.trackers.join(',')}`, '--domain=default'];
    });
    after(async () => {
      await c?.stop();
      await fs.rm(work, { recursive: true, force: true });
      await removePrivateHome();
    });

    test('a tree goes in under the prefix; a second run sends nothing; a changed file is sent again', async () => {
      const src = path.join(work, 'tree');
      const files = await makeTree(src);
      await fs.symlink('top.txt', path.join(src, 'link-to-top'));

      const dry = await runMogfs(['import', src, ...base, '--prefix=imp', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /^upload imp\/ünïcødé\/日本語 ファイル\.txt \(15 bytes\)$/m);
      assert.match(dry.stdout, new RegExp(`^dry run: would upload ${files.size} files`, 'm'));
      assert.deepEqual(await storedKeys(c, 'imp/'), [], 'a dry run stores nothing');

      const first = await runMogfs(['import', src, ...base, '--prefix=imp', '--jobs=4']);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, new RegExp(`^imported ${files.size} files .* 0 unchanged, 1 skipped, 0 failed$`, 'm'));
      assert.match(first.stderr, /skipping link-to-top: symbolic link/);
      assert.deepEqual(await storedKeys(c, 'imp/'), [...files.keys()].map((k) => `imp/${k}`).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      for (const [rel, data] of files) assert.ok((await c.client.getBuffer(`imp/${rel}`)).equals(data), rel);

      const second = await runMogfs(['import', src, ...base, '--prefix=imp/']);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, new RegExp(`^imported 0 files .* ${files.size} unchanged`, 'm'));

      // Same size, new content and mtime: sent again, and only that one.
      const changed = Buffer.from('TOP\n');
      await fs.writeFile(path.join(src, 'top.txt'), changed);
      const later = new Date(Date.now() + 60_000);
      await fs.utimes(path.join(src, 'top.txt'), later, later);
      files.set('top.txt', changed);
      const third = await runMogfs(['import', src, ...base, '--prefix=imp']);
      assert.match(third.stdout, new RegExp(`^imported 1 files .* ${files.size - 1} unchanged`, 'm'));
      assert.ok((await c.client.getBuffer('imp/top.txt')).equals(changed));

      await exportAndCompare(c, base, 'imp', files, src, work);
    });

    test('errors: unknown domain, missing folder, and a file that cannot be stored is reported with exit 1', async () => {
      const src = path.join(work, 'errs');
      await fs.mkdir(src);
      const dom = await runMogfs(['import', src, `--trackers=${c.trackers[0]}`, '--domain=nosuch']);
      assert.equal(dom.code, 1);
      assert.match(dom.stderr, /^mogfs import: no such domain.*unreg_domain.*\n$/);

      const missing = await runMogfs(['import', path.join(work, 'absent'), ...base]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^mogfs import: .*absent: no such file or directory\n$/);

      // A key longer than the tracker allows (1024 bytes): that file fails, the others go in.
      const long = ['x'.repeat(250), 'y'.repeat(250), 'z'.repeat(250), 'w'.repeat(250), 'v'.repeat(100)];
      await fs.mkdir(path.join(src, ...long.slice(0, -1)), { recursive: true });
      await fs.writeFile(path.join(src, ...long), 'too long a key');
      await fs.writeFile(path.join(src, 'fine.txt'), 'fine');
      const r = await runMogfs(['import', src, ...base, '--prefix=errs', '--retries=2']);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^imported 1 files .* 1 failed$/m);
      assert.match(r.stderr, /mogfs import: failed x{250}\/.*key_too_long/);
      assert.match(r.stderr, /^mogfs import: 1 files failed; run the same command again to retry them$/m);
      assert.deepEqual(await storedKeys(c, 'errs/'), ['errs/fine.txt']);
    });

    test('key order: names with - . / and beyond ASCII are walked in key order and found again on a re-run', async () => {
      const src = path.join(work, 'odd');
      // 'ｱ' is a folder and a file at once: it cannot be, so the file becomes 'ｱ/😀' only.
      const rels = ODD_NAMES.filter((n) => n !== 'ｱ');
      const files = await writeFiles(src, rels);
      const keys = rels.map((r) => `ord/${r}`).sort(byteOrder);

      const dry = await runMogfs(['import', src, ...base, '--prefix=ord', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(dryRunKeys(dry.stdout), keys, 'a dry run lists in key order, as the walk meets the listing');

      const first = await runMogfs(['import', src, ...base, '--prefix=ord', '--jobs=3']);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, new RegExp(`^imported ${files.size} files .* 0 unchanged, 0 skipped, 0 failed$`, 'm'));
      assert.deepEqual(await storedKeys(c, 'ord/'), keys);

      // Every file met at its place in the listing: nothing sent again.
      const again = await runMogfs(['import', src, ...base, '--prefix=ord']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^imported 0 files .* ${files.size} unchanged, 0 skipped, 0 failed$`, 'm'));
      const dryAgain = await runMogfs(['import', src, ...base, '--prefix=ord', '--dry-run']);
      assert.deepEqual(dryRunKeys(dryAgain.stdout), []);
      assert.match(dryAgain.stdout, new RegExp(`^dry run: would upload 0 files \\(0 B\\), ${files.size} unchanged$`, 'm'));
      for (const [rel, data] of files) assert.ok((await c.client.getBuffer(`ord/${rel}`)).equals(data), rel);
    });

    test('a stored side with extra keys and missing keys: only the missing are sent, the extra stay', async () => {
      const src = path.join(work, 'mixed');
      const rels = ODD_NAMES.filter((n) => n !== 'ｱ');
      const files = await writeFiles(src, rels);
      const first = await runMogfs(['import', src, ...base, '--prefix=mix']);
      assert.equal(first.code, 0, first.stderr);

      // Keys only the domain has, between and around the local ones (before the first, inside folders, after the last).
      const extra = ['mix/!', 'mix/a-a', 'mix/a.c', 'mix/a/y/zz', 'mix/a/y/', 'mix/a//b', 'mix/é/0', 'mix/ｱ', 'mix/😀😀', 'mix/~~', 'mix0'];
      for (const k of extra) await c.client.storeBuffer(k, Buffer.from(`extra ${k}`));
      // Local files the domain lost.
      const missing = ['a/y/z', 'a0', 'ｱ/😀', '~'];
      for (const rel of missing) await c.client.delete(`mix/${rel}`);

      const dry = await runMogfs(['import', src, ...base, '--prefix=mix', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(dryRunKeys(dry.stdout), missing.map((r) => `mix/${r}`).sort(byteOrder));

      const again = await runMogfs(['import', src, ...base, '--prefix=mix', '--jobs=2']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^imported ${missing.length} files .* ${files.size - missing.length} unchanged, 0 skipped, 0 failed$`, 'm'));
      const want = [...rels.map((r) => `mix/${r}`), ...extra.filter((k) => k.startsWith('mix/'))].sort(byteOrder);
      assert.deepEqual(await storedKeys(c, 'mix/'), want);
      for (const [rel, data] of files) assert.ok((await c.client.getBuffer(`mix/${rel}`)).equals(data), rel);
      for (const k of extra) assert.equal((await c.client.getBuffer(k)).toString(), `extra ${k}`, `${k} left alone`);

      const third = await runMogfs(['import', src, ...base, '--prefix=mix']);
      assert.match(third.stdout, new RegExp(`^imported 0 files .* ${files.size} unchanged`, 'm'));
    });

    test('an import killed part-way resumes: every file exactly once, byte-identical', async () => {
      const src = path.join(work, 'killed');
      const files = await makeTree(src, 400);
      const args = ['import', src, ...base, '--prefix=kill', '--jobs=2'];
      const child = spawnMogfs(args, await cliEnv());
      child.stdout?.resume();
      child.stderr?.resume();
      const exited = new Promise<void>((r) => child.on('close', () => r()));
      try {
        await c.waitFor('the import to store some files', async () => (await storedKeys(c, 'kill/')).length >= 30, 60_000);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const partial = (await storedKeys(c, 'kill/')).length;
      assert.ok(partial < files.size, `killed before the end (${partial} of ${files.size} stored)`);

      const resumed = await runMogfs(args);
      assert.equal(resumed.code, 0, resumed.stderr);
      const m = /^imported (\d+) files .* (\d+) unchanged, 0 skipped, 0 failed$/m.exec(resumed.stdout);
      assert.ok(m, resumed.stdout);
      assert.equal(Number(m[1]) + Number(m[2]), files.size);
      // Files whose attributes were not yet written when the kill came are sent again; at most the jobs in flight.
      assert.ok(Number(m[2]) >= partial - 2, `resumed instead of starting over (${m[2]} unchanged, ${partial} stored)`);

      const keys = await storedKeys(c, 'kill/');
      assert.equal(new Set(keys).size, keys.length);
      assert.deepEqual(keys.sort(), [...files.keys()].map((k) => `kill/${k}`).sort());
      await exportAndCompare(c, base, 'kill', files, src, work);
    });
  });
});

/** A `mogfs` run under a V8 heap cap, with its peak RSS (MiB; null when it died before writing it). */
async function runCapped(args: string[], heapMiB: number, rssFile: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; peakMiB: number | null }> {
  await fs.rm(rssFile, { force: true });
  const env = await cliEnv({ MOGFS_PEAK_RSS_FILE: rssFile });
  // A 1 MiB young generation: the old space cap is then what bounds the heap, so peak RSS follows what is kept.
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, '--max-semi-space-size=1', '-r', PEAK_RSS_PRELOAD, MOGFS, ...args], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('close', (c2, s2) => r([c2, s2])));
  clearTimeout(timer);
  return { code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), peakMiB: await readPeakRss(rssFile) };
}

/** `n` empty files, 500 to a folder. */
async function emptyTree(root: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const dir = path.join(root, `set-${String(i / 500).padStart(3, '0')}`);
    await fs.mkdir(dir, { recursive: true });
    const names = Array.from({ length: Math.min(500, n - i) }, (_, j) => `img ${i + j}.jpg`);
    await Promise.all(names.map((name) => fs.writeFile(path.join(dir, name), '')));
  }
}

describe('import memory', () => {
  let c: Cluster;
  let work: string;

  before(async () => {
    c = await startCluster({ engine: 'sqlite' });
    // 60,000 files: on tmpfs where there is one, for speed.
    const shm = await fs.stat('/dev/shm').then((st) => st.isDirectory(), () => false);
    work = await fs.mkdtemp(path.join(shm ? '/dev/shm' : os.tmpdir(), 'mogfs-import-mem-'));
  });
  after(async () => {
    await c?.stop();
    await fs.rm(work, { recursive: true, force: true });
    await removePrivateHome();
  });

  test('a dry run of 50,000 files fits the heap of one of 10,000, and its peak RSS stays within a few MiB of it', async (t) => {
    // The CLI itself needs about 13 MiB of heap; holding the tree's files (a to-do list, the listing) needs
    // several MiB more per 50,000, so a 20 MiB cap holds the streaming import and not one that keeps the tree.
    const HEAP_MIB = 20;
    const peaks: Record<number, number> = {};
    for (const n of [10_000, 50_000]) {
      const src = path.join(work, `tree-${n}`);
      await emptyTree(src, n);
      const r = await runCapped(['import', src, `--trackers=${c.trackers[0]}`, '--domain=default', '--prefix=mem', '--dry-run'],
        HEAP_MIB, path.join(work, `peak-${n}`));
      assert.equal(r.code, 0, `dry run of ${n} files under a ${HEAP_MIB} MiB heap: exit ${r.code ?? r.signal}\n${r.stderr.slice(-2000)}`);
      assert.match(r.stdout, new RegExp(`^dry run: would upload ${n} files \\(0 B\\), 0 unchanged$`, 'm'));
      assert.equal(dryRunKeys(r.stdout).length, n);
      assert.ok(r.peakMiB !== null, 'the peak RSS was written');
      peaks[n] = r.peakMiB;
      await fs.rm(src, { recursive: true, force: true });
    }
    const growth = peaks[50_000] - peaks[10_000];
    t.diagnostic(`peak RSS: ${peaks[10_000].toFixed(1)} MiB for 10,000 files, ${peaks[50_000].toFixed(1)} MiB for 50,000`);
    assert.ok(growth < 6, `peak RSS ${peaks[10_000].toFixed(1)} MiB for 10,000 files, ${peaks[50_000].toFixed(1)} MiB for 50,000: flat (within 6 MiB)`);
  });
});
