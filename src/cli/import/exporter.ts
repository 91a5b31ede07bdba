/**
 * `mogfs export`: the reverse of import. Every key under --prefix becomes a
 * file below DIR (key minus prefix, '/' as separator), streamed to a
 * temporary name and renamed into place, with the mtime and permission bits
 * from the attribute table. A file already there with the same size and
 * mtime is left alone, so a re-run fetches only what changed. A key that is
 * no safe path (`..`, empty segments, ...) is reported, never written.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, rename, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { allFiles } from '../../client';
import type { FileEntry, MogileFS } from '../../client';
import { describeError, humanBytes } from '../tools/common';
import { normalizePrefix, relForKey } from './localfs';
import { Progress, runPool } from './progress';
import { retrying } from './retry';
import type { TransferFailure, TransferOptions } from './importer';

export type ExportOptions = TransferOptions;

export interface ExportReport {
  listed: number;
  exported: number;
  unchanged: number;
  bytes: number;
  failed: TransferFailure[];
}

/** utimes takes seconds as a double (about 0.25 us apart today), so a restored mtime may differ by that much. */
const MTIME_SLACK_NS = 2000n;

function storedMtimeNs(f: FileEntry): bigint | null {
  if (f.attrs.mtimeSec === undefined) return null;
  return BigInt(f.attrs.mtimeSec) * 1_000_000_000n + BigInt(f.attrs.mtimeNsec ?? 0);
}

async function unchangedLocally(abs: string, f: FileEntry): Promise<boolean> {
  const want = storedMtimeNs(f);
  if (want === null) return false;
  try {
    const st = await lstat(abs, { bigint: true });
    const diff = st.mtimeNs - want;
    return st.isFile() && Number(st.size) === f.length && diff <= MTIME_SLACK_NS && diff >= -MTIME_SLACK_NS;
  } catch {
    return false;
  }
}

async function fetchTo(mogc: MogileFS, f: FileEntry, abs: string): Promise<void> {
  await mkdir(path.dirname(abs), { recursive: true });
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.mogfs-${process.pid}`);
  try {
    const body = await mogc.get(f.key);
    await pipeline(body, createWriteStream(tmp));
    const st = await lstat(tmp);
    if (st.size !== f.length) throw new Error(`read ${st.size} bytes but the tracker says ${f.length}`);
    if (f.attrs.mode !== undefined) await chmod(tmp, f.attrs.mode & 0o7777);
    const ns = storedMtimeNs(f);
    if (ns !== null) {
      const secs = Number(ns) / 1e9;
      await utimes(tmp, secs, secs);
    }
    await rename(tmp, abs);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

export async function runExport(mogc: MogileFS, opts: ExportOptions): Promise<ExportReport> {
  const prefix = normalizePrefix(opts.prefix);
  const root = path.resolve(opts.dir);
  await mkdir(root, { recursive: true });
  const report: ExportReport = { listed: 0, exported: 0, unchanged: 0, bytes: 0, failed: [] };
  const todo: Array<{ f: FileEntry; abs: string }> = [];
  let todoBytes = 0;
  for await (const f of allFiles(mogc, prefix)) {
    report.listed++;
    const rel = relForKey(prefix, f.key);
    if (rel === null) {
      report.failed.push({ name: f.key, error: 'key is no safe file path (empty or . / .. segments, //, or too long); not exported' });
      continue;
    }
    const abs = path.join(root, ...rel.split('/'));
    if (await unchangedLocally(abs, f)) {
      report.unchanged++;
      continue;
    }
    todo.push({ f, abs });
    todoBytes += f.length;
  }

  if (opts.dryRun) {
    for (const t of todo) opts.stdout.write(`fetch ${t.f.key} (${t.f.length} bytes)\n`);
    opts.stdout.write(`dry run: would export ${todo.length} files (${humanBytes(todoBytes)}), ${report.unchanged} unchanged\n`);
    return report;
  }

  const progress = new Progress(todo.length, todoBytes, { out: opts.stderr, tty: opts.tty, enabled: opts.progress !== false, verb: 'exported' });
  progress.start();
  await runPool(todo, opts.jobs ?? 8, async ({ f, abs }) => {
    try {
      await retrying(opts.attempts ?? 3, () => fetchTo(mogc, f, abs));
      report.exported++;
      report.bytes += f.length;
      progress.fileDone(f.length);
    } catch (e) {
      report.failed.push({ name: f.key, error: describeError(e) });
      progress.fileFailed();
    }
  });
  progress.stop();

  for (const f of report.failed) opts.stderr.write(`mogfs export: failed ${f.name}: ${f.error}\n`);
  opts.stdout.write(
    `exported ${report.exported} files (${humanBytes(report.bytes)}) in ${(progress.elapsedMs() / 1000).toFixed(1)}s, ` +
      `${report.unchanged} unchanged, ${report.failed.length} failed\n`,
  );
  return report;
}
