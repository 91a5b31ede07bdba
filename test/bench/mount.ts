/**
 * The FUSE mount against local disk and `rclone mount`, in one run, as a
 * user would drive them (part of `npm run bench`; SQLite cluster from
 * `mogfs up`, which mounts every domain under its mount dir):
 *   - `cp -r` of N x 32 KiB files into the mount, a local directory, and an
 *     rclone mount of a local directory (files/s and ratios);
 *   - `rsync -a` of the same tree twice into the mount: the second must
 *     transfer nothing (timed);
 *   - 1 GiB sequential write and read through the mount against local disk;
 *   - `ls -l` of a 100-entry directory whose subdirectory holds 1,000,000 keys
 *     (rows put straight into the cluster's SQLite: a listing needs no bytes).
 * Also the CPU every process spent per file during the mount's `cp -r`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile, access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cpuByProcess, startCluster, stopCluster, timed, waitFor } from './cluster';
import { makeTree } from './import';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const SIZE = 32 * 1024;
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 1024);
const LS_KEYS = Number(process.env.BENCH_LS_KEYS ?? 1_000_000);

/** Drops the page cache so reads come from where the data lives (root only; skipped otherwise). */
async function dropCaches(): Promise<boolean> {
  try {
    await timed('sync', []);
    await writeFile('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

async function rcloneMount(src: string, mnt: string): Promise<ChildProcess | null> {
  await mkdir(mnt, { recursive: true });
  const p = spawn('rclone', ['mount', src, mnt, '--config', '/dev/null'], { stdio: 'ignore' });
  const ok = await waitFor(async () => (await timed('mountpoint', ['-q', mnt])).seconds >= 0, 'rclone mount', 15_000).then(() => true, () => false);
  if (!ok) {
    p.kill();
    return null;
  }
  return p;
}

async function unmount(mnt: string, proc: ChildProcess | null): Promise<void> {
  await timed('fusermount', ['-u', '-z', mnt]).catch(() => undefined);
  proc?.kill('SIGTERM');
}

/**
 * Lets the machine settle before a timed phase: replication of what earlier
 * phases stored has finished, dirty pages are written, caches dropped. The
 * 1 GiB phases otherwise measure the previous phase's writeback.
 */
async function settle(sqlite: string): Promise<void> {
  const db = new Database(sqlite, { readonly: true });
  try {
    const q = db.prepare('SELECT COUNT(*) AS n FROM file_to_replicate');
    await waitFor(async () => (q.get() as { n: number }).n === 0, 'replication to finish', 300_000);
  } finally {
    db.close();
  }
  await dropCaches();
}

/** 1,000,000 keys below lsdir/deep/ and 99 files beside it, as rows: what ls -l sees without their bytes. */
function fillKeys(sqlite: string, keys: number): void {
  const db = new Database(sqlite);
  try {
    const dmid = (db.prepare("SELECT dmid FROM domain WHERE namespace = 'default'").get() as { dmid: number }).dmid;
    const insert = db.prepare('INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, 0, 0, 0)');
    db.transaction(() => {
      for (let i = 0; i < keys; i++) insert.run(500_000_000 + i, dmid, `lsdir/deep/${String(i % 1000).padStart(3, '0')}/${i}`);
      for (let i = 0; i < 99; i++) insert.run(400_000_000 + i, dmid, `lsdir/file-${String(i).padStart(2, '0')}.jpg`);
    })();
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'mogfs-bench-mount-'));
  const src = path.join(work, 'src');
  await makeTree(src);
  const rows: { what: string; seconds: number; files?: number; mib?: number; note?: string }[] = [];
  const data = path.join(work, 'cluster');
  const mnt = path.join(work, 'mnt');
  const { proc, tracker } = await startCluster('sqlite', data, mnt);
  let rclone: ChildProcess | null = null;
  try {
    const dom = path.join(mnt, 'default');
    await waitFor(async () => (await readdir(mnt)).includes('default'), 'the mount');

    const local = await timed('cp', ['-r', src, path.join(work, 'local-copy')]);
    rows.push({ what: '`cp -r` into a local directory', seconds: local.seconds, files: FILES });

    // The first copy into a fresh cluster also pays for warming it up (JIT, the
    // database and the device directories growing); the second is what a long
    // copy runs at. Both are reported.
    const first = await timed('cp', ['-r', src, path.join(dom, 'cp-first')]);
    rows.push({ what: '`cp -r` into the mogfs mount, first copy into a fresh cluster', seconds: first.seconds, files: FILES });
    const cpu0 = await cpuByProcess(proc.pid as number);
    const cp = await timed('cp', ['-r', src, path.join(dom, 'cp-copy')]);
    const cpu1 = await cpuByProcess(proc.pid as number);
    rows.push({ what: '`cp -r` into the mogfs mount, again (warm)', seconds: cp.seconds, files: FILES });

    const rcSrc = path.join(work, 'rclone-backing');
    const rcMnt = path.join(work, 'rclone-mnt');
    await mkdir(rcSrc);
    if (await access('/usr/bin/rclone').then(() => true, () => false)) {
      rclone = await rcloneMount(rcSrc, rcMnt);
      if (rclone) {
        const rc = await timed('cp', ['-r', src, path.join(rcMnt, 'cp-copy')]);
        rows.push({ what: '`cp -r` into `rclone mount` of a local directory', seconds: rc.seconds, files: FILES });
        await unmount(rcMnt, rclone);
        rclone = null;
      }
    }

    await timed('rsync', ['-a', `${src}/`, path.join(dom, 'rsync-copy/')]);
    const again = await timed('rsync', ['-a', '--stats', `${src}/`, path.join(dom, 'rsync-copy/')]);
    const sent = /Number of regular files transferred: ([\d,]+)/.exec(again.out)?.[1] ?? '?';
    rows.push({ what: '`rsync -a` of the same tree a second time (mount)', seconds: again.seconds, note: `files transferred: ${sent}` });

    const sqlite = path.join(data, 'mogilefs.sqlite');
    const bigLocal = path.join(work, 'big.local');
    const bigMount = path.join(dom, 'big.bin');
    await settle(sqlite);
    const wl = await timed('dd', ['if=/dev/zero', `of=${bigLocal}`, 'bs=1M', `count=${BIG_MIB}`]);
    rows.push({ what: `${BIG_MIB} MiB sequential write, local disk (dd bs=1M)`, seconds: wl.seconds, mib: BIG_MIB });
    await settle(sqlite);
    const wm = await timed('dd', ['if=/dev/zero', `of=${bigMount}`, 'bs=1M', `count=${BIG_MIB}`]);
    rows.push({ what: `${BIG_MIB} MiB sequential write, mount (dd bs=1M; close returns once stored)`, seconds: wm.seconds, mib: BIG_MIB });
    await settle(sqlite);
    const rl = await timed('dd', [`if=${bigLocal}`, 'of=/dev/null', 'bs=1M']);
    rows.push({ what: `${BIG_MIB} MiB sequential read, local disk (caches dropped)`, seconds: rl.seconds, mib: BIG_MIB });
    await settle(sqlite);
    const rm2 = await timed('dd', [`if=${bigMount}`, 'of=/dev/null', 'bs=1M']);
    rows.push({ what: `${BIG_MIB} MiB sequential read, mount (caches dropped)`, seconds: rm2.seconds, mib: BIG_MIB });

    fillKeys(sqlite, LS_KEYS);
    await new Promise((r) => setTimeout(r, 1500)); // past the mount's 1 s cache: ls asks the tracker
    const ls = await timed('ls', ['-l', path.join(dom, 'lsdir')]);
    const entries = ls.out.trim().split('\n').length - 1;
    rows.push({ what: `\`ls -l\` of a ${entries}-entry directory, ${LS_KEYS} keys below it (cold cache)`, seconds: ls.seconds });
    const lsWarm = await timed('ls', ['-l', path.join(dom, 'lsdir')]);
    rows.push({ what: '`ls -l` of the same directory again (within the cache time)', seconds: lsWarm.seconds });

    console.log(`\nMount: ${FILES} files x ${SIZE / 1024} KiB; ${BIG_MIB} MiB sequential; tracker ${tracker}`);
    console.log('| what | seconds | files/s | MiB/s | note |');
    console.log('|---|---:|---:|---:|---|');
    for (const r of rows) {
      const fps = r.files ? (r.files / r.seconds).toFixed(0) : '';
      const mbs = r.mib ? (r.mib / r.seconds).toFixed(0) : '';
      console.log(`| ${r.what} | ${r.seconds.toFixed(3)} | ${fps} | ${mbs} | ${r.note ?? ''} |`);
    }
    const cpRow = rows.find((r) => r.what.includes('mogfs mount, again'));
    const base = rows.find((r) => r.what.includes('local directory'));
    const rc = rows.find((r) => r.what.includes('rclone'));
    if (cpRow && base) console.log(`\ncp -r: mount/local = ${(base.seconds / cpRow.seconds).toFixed(3)}${rc ? `, mount/rclone = ${(rc.seconds / cpRow.seconds).toFixed(2)}` : ''}`);
    console.log('\nCPU ms per file during the second `cp -r` into the mount, by process:');
    console.log(`| ${Object.keys(cpu1).join(' | ')} |`);
    console.log(`|${Object.keys(cpu1).map(() => '---:').join('|')}|`);
    console.log(`| ${Object.keys(cpu1).map((k) => ((cpu1[k] - (cpu0[k] ?? 0)) / FILES).toFixed(2)).join(' | ')} |`);
  } finally {
    if (rclone) await unmount(path.join(work, 'rclone-mnt'), rclone);
    await stopCluster(proc);
    await rm(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
