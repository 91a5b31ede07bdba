/**
 * The store engines on their own, in-process: rounds of what a stored,
 * replicated, read and deleted file costs the metadata store (create_open,
 * create_close with its replication claimed, get_paths, the replica
 * recorded and the job finished, get_paths, delete, and the delete
 * worker's two steps), 8 rounds at a time as a tracker's
 * connections run them. Reports CPU per round of this process (the store's
 * code and SQLite itself) and of MariaDB. Part of `npm run bench`; figures
 * go to docs/BENCHMARKS.md ("Store engines").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store';
import type { MetadataStore } from '../../src/store';
import { cpuByProcess, pool, withBenchMariadb } from './cluster';

const ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 20000);
const CONCURRENCY = 8;

async function rounds(s: MetadataStore, dbPid?: number): Promise<{ usPerRound: number; dbUsPerRound: number | null; seconds: number }> {
  const { dmid } = await s.createDomain(`bench${Date.now()}`);
  const dbBefore = dbPid ? Object.values(await cpuByProcess(dbPid)).reduce((a, b) => a + b, 0) : 0;
  const cpu0 = process.cpuUsage();
  const seconds = await pool(ROUNDS, CONCURRENCY, async (i) => {
    const key = `k/${i}`;
    const fid = await s.createTempfile({ dmid, dkey: key, classid: 0, devids: '1,2', createtime: 1 });
    // As the tracker does now: the replication job committed claimed (create_close's hand-off)
    // and finished with the copy; the delete worker's state query and finish in their list forms.
    const leaseEnd = Math.floor(Date.now() / 1000) + 120;
    await s.commitFile({ fid, dmid, dkey: key, length: 32768, classid: 0, devids: [1], replicateNexttry: 0, replicateLeaseEnd: leaseEnd });
    await s.getFileWithDevids(dmid, key);
    await s.addFileOnAndFinish(fid, 2);
    await s.getFileWithDevids(dmid, key);
    await s.deleteFileByKey(dmid, key);
    await s.deleteJobStates([fid]);
    await s.finishDeletedFiles([fid]);
  });
  const cpu = process.cpuUsage(cpu0);
  const dbAfter = dbPid ? Object.values(await cpuByProcess(dbPid)).reduce((a, b) => a + b, 0) : 0;
  return {
    usPerRound: (cpu.user + cpu.system) / ROUNDS,
    dbUsPerRound: dbPid ? ((dbAfter - dbBefore) * 1000) / ROUNDS : null,
    seconds,
  };
}

async function main(): Promise<void> {
  const rows: string[] = [];
  const report = (engine: string, r: { usPerRound: number; dbUsPerRound: number | null; seconds: number }): void => {
    rows.push(`| ${engine} | ${ROUNDS} | ${(ROUNDS / r.seconds).toFixed(0)} | ${r.usPerRound.toFixed(0)} | ${r.dbUsPerRound === null ? '–' : r.dbUsPerRound.toFixed(0)} |`);
  };
  const dir = await mkdtemp(path.join(process.env.BENCH_DATA ?? '/dev/shm', 'mogfs-store-bench-'));
  try {
    const s = await openStore({ dsn: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      report('sqlite', await rounds(s));
    } finally {
      await s.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await withBenchMariadb('mogfs_store_bench', async (dsn, pid) => {
    const s = await openStore({ dsn });
    try {
      report('mysql', await rounds(s, pid));
    } finally {
      await s.close();
    }
  });
  console.log(`\nStore engines, in-process (${os.cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)})\n`);
  console.log('| engine | rounds | rounds/s | store process CPU µs/round | MariaDB CPU µs/round |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
