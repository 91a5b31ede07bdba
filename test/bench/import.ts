/**
 * Bulk import against `cp -r`: the same generated tree (N x 32 KiB files in
 * nested folders) copied onto local disk with `cp -r`, and into a real
 * `mogfs up` cluster (SQLite) with `mogfs import --jobs 8`; then the
 * re-run, which must send nothing. Part of `npm run bench`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCluster, stopCluster, timed } from './cluster';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const SIZE = 32 * 1024;
const PER_DIR = 100;
const mogfs = path.resolve(__dirname, '..', '..', 'src', 'cli', 'mogfs.js');

export async function makeTree(root: string): Promise<void> {
  const body = Buffer.alloc(SIZE);
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(root, `album-${Math.floor(i / PER_DIR) % 10}`, `set-${Math.floor(i / PER_DIR)}`);
    if (i % PER_DIR === 0) await mkdir(dir, { recursive: true });
    body.writeUInt32LE(i, 0); // distinct contents
    await writeFile(path.join(dir, `img ${i}.jpg`), body);
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'mogfs-bench-import-'));
  const src = path.join(work, 'src');
  await makeTree(src);
  const rows: { what: string; seconds: number }[] = [];
  const cp = await timed('cp', ['-r', src, path.join(work, 'cp-copy')]);
  rows.push({ what: '`cp -r` onto local disk', seconds: cp.seconds });
  const data = path.join(work, 'cluster');
  const { proc, tracker } = await startCluster('sqlite', data);
  try {
    const args = [mogfs, 'import', src, '--trackers', tracker, '--domain', 'default', '--prefix', 'legacy', '--jobs', '8'];
    const first = await timed(process.execPath, args);
    if (!new RegExp(`imported ${FILES} files`).test(first.out)) throw new Error(`first import did not send every file: ${first.out}`);
    rows.push({ what: '`mogfs import --jobs 8` into the cluster', seconds: first.seconds });
    const again = await timed(process.execPath, args);
    if (!/imported 0 files/.test(again.out)) throw new Error(`re-run sent files again: ${again.out}`);
    rows.push({ what: '`mogfs import` re-run (nothing changed)', seconds: again.seconds });
    // The way without import: one upload command per file (sampled, then scaled to FILES).
    const sample = Math.min(100, FILES);
    let seconds = 0;
    for (let i = 0; i < sample; i++) {
      const file = path.join(src, `album-0`, `set-0`, `img ${i % PER_DIR}.jpg`);
      const r = await timed(process.execPath, [mogfs, 'upload', '--trackers', tracker, '--domain', 'default', file, `one-by-one/${i}.jpg`]);
      seconds += r.seconds;
    }
    rows.push({ what: `one \`mogfs upload\` per file (${sample} sampled, scaled)`, seconds: (seconds * FILES) / sample });
  } finally {
    await stopCluster(proc);
    await rm(work, { recursive: true, force: true });
  }
  const mib = (FILES * SIZE) / 1048576;
  console.log(`\nImport: ${FILES} files x ${SIZE / 1024} KiB (${mib.toFixed(1)} MiB) in ${Math.ceil(FILES / PER_DIR)} folders`);
  console.log('| what | seconds | files/s | MiB/s |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.what} | ${r.seconds.toFixed(2)} | ${(FILES / r.seconds).toFixed(0)} | ${(mib / r.seconds).toFixed(1)} |`);
}

if (require.main === module) {
  main().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
