/**
 * `mogfs mount MOUNTPOINT`: a domain (or a key prefix in it, or with no
 * --domain every domain) as a folder, in the foreground. Ctrl-C or SIGTERM
 * unmounts, after uploading whatever is still being written.
 */
import type { Command } from 'commander';
import { createLogger } from '../common/log';
import { fuseProblem, mountVfs } from '../fuse';
import { openVfs } from '../vfs';
import { loadConfig, requireTrackers, UsageError, withClientOptions } from './tools/common';

interface MountFlags {
  trackers?: string;
  domain?: string;
  conf?: string;
  prefix?: string;
  cacheTime: string;
  spoolDir?: string;
  spoolLimit?: string;
  readOnly?: boolean;
  allowOther?: boolean;
  class?: string;
  debug?: boolean;
}

/** "10G", "512M", "1048576" -> bytes. */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) throw new UsageError(`not a size: ${v} (use e.g. 512M or 10G)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

export function registerMount(program: Command): void {
  const cmd = program
    .command('mount')
    .argument('<mountpoint>', 'directory to mount at (made when missing)')
    .description('mount a domain (or, without --domain, every domain as a folder) with FUSE, in the foreground')
    .option('--prefix <prefix>', 'show only keys under this prefix (with --domain)')
    .option('--cache-time <seconds>', 'how long attributes and listings are trusted', '1')
    .option('--spool-dir <dir>', 'where files being written wait for upload (default: a dir in the OS temp dir)')
    .option('--spool-limit <size>', 'most the spool may hold, e.g. 10G (default: as much as the disk has)')
    .option('--read-only', 'mount read-only')
    .option('--allow-other', 'let other users use the mount (FUSE allow_other)')
    .option('--class <class>', 'class of new files (default: the domain\'s default class)')
    .option('-d, --debug', 'log every failing operation');
  withClientOptions(cmd);
  cmd.action(async (mountpoint: string, flags: MountFlags) => {
    // Only --domain picks a domain here: without it the mount shows them all.
    const cfg = await loadConfig({ trackers: flags.trackers, conf: flags.conf });
    const log = createLogger('mount', process.env.MOGFS_LOG_LEVEL ?? (flags.debug ? 'debug' : 'info'));
    const problem = await fuseProblem();
    if (problem) throw new Error(`cannot mount: ${problem}`);
    const cacheSeconds = Number(flags.cacheTime);
    if (!(cacheSeconds >= 0)) throw new UsageError(`--cache-time must be a number of seconds >= 0, got ${flags.cacheTime}`);
    const opened = await openVfs({
      trackers: requireTrackers(cfg),
      domain: flags.domain,
      prefix: flags.prefix,
      spoolDir: flags.spoolDir,
      spoolLimitBytes: flags.spoolLimit ? parseSize(flags.spoolLimit) : 0,
      // The kernel caches too, in front of ours: each gets half, so a change
      // made elsewhere shows within --cache-time, not twice that.
      cacheMs: (cacheSeconds * 1000) / 2,
      readOnly: flags.readOnly,
      defaultClass: flags.class,
      log,
    });
    let mounted;
    try {
      mounted = await mountVfs({
        mountpoint, vfs: opened.vfs, log, cacheSeconds: cacheSeconds / 2, readOnly: flags.readOnly, allowOther: flags.allowOther,
        fsname: `mogfs:${flags.domain ?? 'all'}${flags.prefix ? `/${flags.prefix}` : ''}`,
      });
    } catch (e) {
      await opened.close();
      throw e;
    }
    const stop = (): void => {
      void mounted.unmount().then(() => opened.close()).then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const what = flags.domain ? `domain ${flags.domain}${flags.prefix ? ` prefix ${flags.prefix}` : ''}` : 'every domain';
    const note = opened.extensions ? '' : ' (stock tracker: no attributes, slower listings)';
    process.stdout.write(`mogfs mounted ${what} at ${mounted.mountpoint}${note}\n`);
  });
}
