/**
 * `mogfs export`: the reverse of import. Every key under --prefix becomes a
 * file below DIR (key minus prefix, '/' as separator), streamed to a
 * temporary name and renamed into place, with the mtime and permission bits
 * from the attribute table. A file already there with the same size and
 * mtime is left alone, so a re-run fetches only what changed. The listing is
 * streamed into the transfers, so memory does not grow with the keys. A key that is
 * no safe path (`..`, empty segments, ...) is reported, never written.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, rename, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FileEntry, MogileFS } from '../../client';
import { describeError, humanBytes } from '../tools/common';
import { normalizePrefix, relForKey } from './localfs';
import { runPool, writeLine } from './pool';
import { Progress } from './progress';
import { listAhead } from './remote';
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

/** A key to export and where it goes. */
interface Wanted {
  f: FileEntry;
  abs: string;
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
  const progress = new Progress({ out: opts.stderr, tty: opts.tty, enabled: opts.progress !== false && !opts.dryRun, verb: 'exported' });

  /** The keys to fetch, as the listing streams; whether a file is already in place is asked by whoever takes one. */
  async function* listed(): AsyncGenerator<Wanted> {
    for await (const f of listAhead(mogc, prefix)) {
      report.listed++;
      const rel = relForKey(prefix, f.key);
      if (rel === null) {
        report.failed.push({ name: f.key, error: 'key is no safe file path (empty or . / .. segments, //, or too long); not exported' });
        progress.fileFailed();
        continue;
      }
      yield { f, abs: path.join(root, ...rel.split('/')) };
    }
  }
  const inPlace = async (w: Wanted): Promise<boolean> => {
    const unchanged = await unchangedLocally(w.abs, w.f);
    progress.fileChecked(unchanged);
    if (unchanged) report.unchanged++;
    return unchanged;
  };

  if (opts.dryRun) {
    let files = 0;
    let bytes = 0;
    for await (const w of listed()) {
      if (await inPlace(w)) continue;
      files++;
      bytes += w.f.length;
      await writeLine(opts.stdout, `fetch ${w.f.key} (${w.f.length} bytes)`);
    }
    opts.stdout.write(`dry run: would export ${files} files (${humanBytes(bytes)}), ${report.unchanged} unchanged\n`);
    return report;
  }

  progress.start();
  try {
    await runPool(listed(), opts.jobs ?? 8, async (w) => {
      if (await inPlace(w)) return;
      try {
        await retrying(opts.attempts ?? 3, () => fetchTo(mogc, w.f, w.abs));
        report.exported++;
        report.bytes += w.f.length;
        progress.fileDone(w.f.length);
      } catch (e) {
        report.failed.push({ name: w.f.key, error: describeError(e) });
        progress.fileFailed();
      }
    });
  } finally {
    progress.stop();
  }

  for (const f of report.failed) opts.stderr.write(`mogfs export: failed ${f.name}: ${f.error}\n`);
  opts.stdout.write(
    `exported ${report.exported} files (${humanBytes(report.bytes)}) in ${(progress.elapsedMs() / 1000).toFixed(1)}s, ` +
      `${report.unchanged} unchanged, ${report.failed.length} failed\n`,
  );
  return report;
}
