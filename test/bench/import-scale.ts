/**
 * Import at the scale of real image trees: generated trees of 50,000,
 * 100,000 and 200,000 small files (1 KiB, 500 to a folder; on /dev/shm
 * where there is one), each put through `mogfs import --dry-run`, a real
 * `mogfs import --jobs 8` into a `mogfs up` cluster (SQLite), and the re-run
 * that sends nothing, with files/s and the peak RSS of the mogfs process
 * (VmHWM at its exit, through test/helpers/peakrss). The walk and the
 * listing stream, so the peak RSS must stay flat as the tree grows.
 * Part of `npm run bench`.
 *
 *   BENCH_IMPORT_FILES=50000,100000,200000   tree sizes (default)
 *   BENCH_IMPORT_REAL=0                      dry runs only
 *   BENCH_DATA=/dev/shm                      cluster data (default: the OS temp dir)
 *   BENCH_MOGFS=/path/to/dist/src/cli/mogfs.js  another build's CLI, to compare
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PEAK_RSS_PRELOAD, readPeakRss } from '../helpers/peakrss';
import { startCluster, stopCluster } from './cluster';

const SIZES = (process.env.BENCH_IMPORT_FILES ?? '50000,100000,200000').split(',').map(Number);
const REAL = process.env.BENCH_IMPORT_REAL !== '0';
const FILE_SIZE = 1024;
const PER_DIR = 500;
const TREE_DIR = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const DATA_DIR = process.env.BENCH_DATA ?? os.tmpdir();
const mogfs = process.env.BENCH_MOGFS ?? path.resolve(__dirname, '..', '..', 'src', 'cli', 'mogfs.js');

interface Row {
  files: number;
  what: string;
  seconds: number;
  peakMiB: number;
}

async function makeTree(root: string, n: number): Promise<void> {
  const body = Buffer.alloc(FILE_SIZE);
  for (let i = 0; i < n; i += PER_DIR) {
    const dir = path.join(root, `album-${Math.floor(i / (PER_DIR * 20))}`, `set-${Math.floor(i / PER_DIR)}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: Math.min(PER_DIR, n - i) }, (_, j) => {
      const b = Buffer.from(body);
      b.writeUInt32LE(i + j, 0); // distinct contents
      return writeFile(path.join(dir, `img ${i + j}.jpg`), b);
    }));
  }
}

/** Runs mogfs with the peak-RSS preload; the output's last lines (a dry run's listing is not kept) and the figures. */
async function run(args: string[], rssFile: string): Promise<{ seconds: number; peakMiB: number; tail: string }> {
  const t0 = process.hrtime.bigint();
  const p = spawn(process.execPath, ['-r', PEAK_RSS_PRELOAD, mogfs, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOGFS_LOG_LEVEL: 'warn', MOGFS_PEAK_RSS_FILE: rssFile },
  });
  let tail = '';
  const keep = (d: Buffer): void => { tail = (tail + d.toString()).slice(-4000); };
  p.stdout.on('data', keep);
  p.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    p.once('error', reject);
    p.once('close', resolve);
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`mogfs ${args.join(' ')} exited ${code}: ${tail}`);
  const peakMiB = await readPeakRss(rssFile);
  if (peakMiB === null) throw new Error(`mogfs ${args.join(' ')} wrote no peak RSS`);
  return { seconds, peakMiB, tail };
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(TREE_DIR, 'mogfs-bench-import-scale-'));
  const data = await mkdtemp(path.join(DATA_DIR, 'mogfs-bench-import-scale-data-'));
  const rows: Row[] = [];
  const { proc, tracker } = await startCluster('sqlite', data);
  try {
    for (const n of SIZES) {
      const src = path.join(work, `tree-${n}`);
      await makeTree(src, n);
      const base = ['import', src, '--trackers', tracker, '--domain', 'default', '--prefix', `scale-${n}`, '--no-progress'];
      const rss = path.join(work, 'peak-rss');
      const dry = await run([...base, '--dry-run'], rss);
      if (!new RegExp(`would upload ${n} files`).test(dry.tail)) throw new Error(`dry run did not list every file: ${dry.tail}`);
      rows.push({ files: n, what: '`--dry-run` (nothing stored yet)', seconds: dry.seconds, peakMiB: dry.peakMiB });
      if (REAL) {
        const first = await run([...base, '--jobs', '8'], rss);
        if (!new RegExp(`imported ${n} files`).test(first.tail)) throw new Error(`import did not send every file: ${first.tail}`);
        rows.push({ files: n, what: '`--jobs 8` into the cluster', seconds: first.seconds, peakMiB: first.peakMiB });
        const again = await run(base, rss);
        if (!new RegExp(`imported 0 files .* ${n} unchanged`).test(again.tail)) throw new Error(`re-run sent files again: ${again.tail}`);
        rows.push({ files: n, what: 're-run (nothing changed)', seconds: again.seconds, peakMiB: again.peakMiB });
      }
      await rm(src, { recursive: true, force: true });
    }
  } finally {
    await stopCluster(proc);
    await rm(work, { recursive: true, force: true });
    await rm(data, { recursive: true, force: true });
  }
  console.log(`\nImport at scale: trees of ${SIZES.join(', ')} files x ${FILE_SIZE / 1024} KiB (${PER_DIR} to a folder) on ${TREE_DIR}, ` +
    `cluster data on ${DATA_DIR}, node ${process.version}, ${os.cpus().length} cores`);
  console.log('| files | `mogfs import` | seconds | files/s | peak RSS (MiB) |');
  console.log('|---:|---|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.files} | ${r.what} | ${r.seconds.toFixed(1)} | ${(r.files / r.seconds).toFixed(0)} | ${r.peakMiB.toFixed(1)} |`);
  }
}

if (require.main === module) {
  main().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
