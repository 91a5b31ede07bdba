/**
 * `mogfs import DIR` and `mogfs export DIR`: the bulk copy commands. Exit
 * status 1 when any file failed after its retries (each is listed on stderr).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { runExport, runImport } from '../import';
import { action, withClient, withClientOptions } from './common';
import type { ClientFlags } from './common';

interface TransferFlags extends ClientFlags {
  prefix?: string;
  class?: string;
  jobs?: number;
  dryRun?: boolean;
  retries?: number;
  progress?: boolean;
}

function positive(name: string, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > max) throw new InvalidArgumentError(`--${name} must be a whole number from 1 to ${max}`);
    return n;
  };
}

function transferOptions(cmd: Command): Command {
  return withClientOptions(
    cmd
      .option('--prefix <prefix>', 'key prefix, as a folder: "photos" means keys photos/...')
      .option('-j, --jobs <n>', 'transfers at once (default 8)', positive('jobs', 256))
      .option('--retries <n>', 'attempts per file before it counts as failed (default 3)', positive('retries', 100))
      .option('-n, --dry-run', 'list what would be copied, copy nothing')
      .option('--no-progress', 'no progress display (a summary is still printed)'),
  );
}

export function registerTransferTools(program: Command): void {
  transferOptions(
    program
      .command('import')
      .description('copy a local folder into a domain (keys = prefix + relative paths); re-runs send only new or changed files')
      .argument('<dir>', 'local folder to copy')
      .option('--class <class>', "class for the new files (default: the domain's default class)"),
  ).action(action('import', async (dir: string, o: TransferFlags) => {
    await withClient(o, async (mogc, cfg) => {
      const report = await runImport(mogc, {
        dir, prefix: o.prefix, class: o.class ?? cfg.class, jobs: o.jobs, dryRun: o.dryRun, attempts: o.retries,
        stdout: process.stdout, stderr: process.stderr, progress: o.progress !== false,
      });
      if (report.failed.length > 0) throw new Error(`${report.failed.length} files failed; run the same command again to retry them`);
    });
  }));

  transferOptions(
    program
      .command('export')
      .description('copy the keys under a prefix out of a domain into a local folder, with their mtimes')
      .argument('<dir>', 'local folder to write (created if missing)'),
  ).action(action('export', async (dir: string, o: TransferFlags) => {
    await withClient(o, async (mogc) => {
      const report = await runExport(mogc, {
        dir, prefix: o.prefix, jobs: o.jobs, dryRun: o.dryRun, attempts: o.retries,
        stdout: process.stdout, stderr: process.stderr, progress: o.progress !== false,
      });
      if (report.failed.length > 0) throw new Error(`${report.failed.length} files failed; run the same command again to retry them`);
    });
  }));
}
