/**
 * `mogfs import` and `mogfs export` as a user runs them, against a real
 * cluster: a generated tree (nested folders, spaces, unicode, empty files, a
 * file of a few MB), re-runs that send nothing, a changed file sent again, a
 * dry run, failures reported with a non-zero exit, and an import killed
 * part-way then resumed, checked file by file, byte for byte, via export.
 */
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
import { cliEnv, removePrivateHome, runMogfs, spawnMogfs } from './helpers/cli';

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
