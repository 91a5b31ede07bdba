/**
 * `mogfs import`: copy a local tree into a domain, each file's relative path
 * (after --prefix) as its key. What is already stored with the same size and
 * mtime (from our attribute table) is skipped, so a re-run sends only what
 * is new or changed and an interrupted import resumes where it stopped.
 * The local walk and the tracker's listing both come in key order and are
 * merged as they stream, and the uploads take their work from that merge,
 * so memory stays flat however many files the tree holds.
 * Each upload becomes visible only at create_close, so a killed import never
 * leaves a half-written file under a key.
 */
import { stat } from 'node:fs/promises';
import { MogError, setAttrs, trackerKeepsAttrs } from '../../client';
import type { MogileFS } from '../../client';
import { describeError, humanBytes } from '../tools/common';
import { keyFor, normalizePrefix, sameFile, walkTree } from './localfs';
import type { LocalFile } from './localfs';
import { runPool, writeLine } from './pool';
import { Progress } from './progress';
import { RemoteListing } from './remote';
import { retrying } from './retry';

/** What import and export share. */
export interface TransferOptions {
  dir: string;
  prefix?: string;
  /** Transfers at once (default 8). */
  jobs?: number;
  dryRun?: boolean;
  /** Attempts per file before it counts as failed (default 3). */
  attempts?: number;
  /** Results (dry-run list, summary). */
  stdout: NodeJS.WritableStream;
  /** Progress and warnings. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  tty?: boolean;
  /** Show progress while copying (default true); a summary is printed either way. */
  progress?: boolean;
}

export interface ImportOptions extends TransferOptions {
  class?: string;
}

export interface TransferFailure {
  /** Relative path (import) or key (export). */
  name: string;
  error: string;
}

export interface ImportReport {
  /** Regular files found under the directory. */
  scanned: number;
  uploaded: number;
  unchanged: number;
  skipped: number;
  bytes: number;
  failed: TransferFailure[];
}

export async function runImport(mogc: MogileFS, opts: ImportOptions): Promise<ImportReport> {
  const st = await stat(opts.dir);
  if (!st.isDirectory()) throw new Error(`${opts.dir} is not a directory`);
  const prefix = normalizePrefix(opts.prefix);
  const keepsAttrs = await trackerKeepsAttrs(mogc);
  if (!keepsAttrs) {
    opts.stderr.write('mogfs import: this tracker keeps no file attributes (a stock MogileFS?): every file is sent again on each run\n');
  }
  const report: ImportReport = { scanned: 0, uploaded: 0, unchanged: 0, skipped: 0, bytes: 0, failed: [] };
  const progress = new Progress({ out: opts.stderr, tty: opts.tty, enabled: opts.progress !== false && !opts.dryRun, verb: 'uploaded' });
  const note = (line: string): void => progress.note(line);
  // Without attributes nothing stored can count as unchanged, so the listing is not read at all.
  const remote = keepsAttrs ? new RemoteListing(mogc, prefix, note) : null;

  /** The files to send, in key order, as the walk and the listing meet. */
  async function* toSend(): AsyncGenerator<LocalFile> {
    for await (const ent of walkTree(opts.dir)) {
      if (ent.kind === 'skipped') {
        report.skipped++;
        note(`mogfs import: skipping ${ent.rel}: ${ent.reason}`);
        continue;
      }
      report.scanned++;
      const unchanged = remote !== null && sameFile(ent, await remote.find(keyFor(prefix, ent.rel)));
      progress.fileChecked(unchanged);
      if (unchanged) report.unchanged++;
      else yield ent;
    }
  }

  if (opts.dryRun) {
    let files = 0;
    let bytes = 0;
    for await (const f of toSend()) {
      files++;
      bytes += f.size;
      await writeLine(opts.stdout, `upload ${keyFor(prefix, f.rel)} (${f.size} bytes)`);
    }
    opts.stdout.write(`dry run: would upload ${files} files (${humanBytes(bytes)}), ${report.unchanged} unchanged\n`);
    return report;
  }

  progress.start();
  try {
    await runPool(toSend(), opts.jobs ?? 8, (f) => upload(mogc, prefix, f, keepsAttrs, opts, report, progress));
  } finally {
    progress.stop();
  }

  const secs = progress.elapsedMs() / 1000;
  for (const f of report.failed) opts.stderr.write(`mogfs import: failed ${f.name}: ${f.error}\n`);
  opts.stdout.write(
    `imported ${report.uploaded} files (${humanBytes(report.bytes)}) in ${secs.toFixed(1)}s, ` +
      `${report.unchanged} unchanged, ${report.skipped} skipped, ${report.failed.length} failed\n`,
  );
  return report;
}

/** One file, with retries; its outcome goes to the report and the progress line. */
async function upload(
  mogc: MogileFS, prefix: string, f: LocalFile, keepsAttrs: boolean, opts: ImportOptions, report: ImportReport, progress: Progress,
): Promise<void> {
  const key = keyFor(prefix, f.rel);
  try {
    await retrying(opts.attempts ?? 3, async () => {
      const r = await mogc.storeFile(key, f.abs, { class: opts.class });
      // Attributes of the upload we just made; if the key was replaced meanwhile, the newer file keeps its own.
      try {
        if (keepsAttrs) await setAttrs(mogc, key, f.attrs, { fid: r.fid });
      } catch (e) {
        if (!(e instanceof MogError && (e.code === 'fid_mismatch' || e.code === 'unknown_key'))) throw e;
      }
    });
    report.uploaded++;
    report.bytes += f.size;
    progress.fileDone(f.size);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      // Removed since the walk: nothing left to import.
      report.skipped++;
      progress.note(`mogfs import: skipping ${f.rel}: removed while importing`);
      return;
    }
    report.failed.push({ name: f.rel, error: describeError(e) });
    progress.fileFailed();
  }
}
