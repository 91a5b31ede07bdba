/**
 * `mogfs dav`: a domain (or a key prefix in it, or with no --domain every
 * domain as a top-level collection) as a WebDAV network drive, in the
 * foreground. `mogfs dav-user` adds users to a users file.
 */
import type { Command } from 'commander';
import { createLogger } from '../common/log';
import { setUser, startDav } from '../dav';
import { parseSize } from './mount';
import { parseServeFlags, stopOnSignals, withServeOptions } from './serve';
import type { ServeFlags } from './serve';
import { loadConfig, requireTrackers, UsageError, withClientOptions } from './tools/common';

interface DavFlags extends ServeFlags {
  trackers?: string;
  domain?: string;
  conf?: string;
  spoolDir?: string;
  spoolLimit?: string;
  readOnly?: boolean;
  class?: string;
  users?: string;
  anonymousRead?: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

export function registerDav(program: Command): void {
  const cmd = withServeOptions(program
    .command('dav')
    .description('serve a domain (or, without --domain, every domain as a collection) over WebDAV, in the foreground'), 8080, 'show')
    .option('--spool-dir <dir>', 'where uploads wait to be stored (default: a dir in the OS temp dir)')
    .option('--spool-limit <size>', 'most the spool may hold, e.g. 10G')
    .option('--read-only', 'serve read-only')
    .option('--class <class>', 'class of new files (default: the domain\'s default class)')
    .option('--users <file>', 'users file (see `mogfs dav-user`): require Basic authentication')
    .option('--anonymous-read', 'with --users: let requests without credentials read')
    .option('--tls-cert <pem>', 'serve HTTPS with this certificate (with --tls-key)')
    .option('--tls-key <pem>', 'private key of --tls-cert');
  withClientOptions(cmd);
  cmd.action(async (flags: DavFlags) => {
    const cfg = await loadConfig({ trackers: flags.trackers, conf: flags.conf });
    const log = createLogger('dav', process.env.MOGFS_LOG_LEVEL ?? 'info');
    const { port, cacheSeconds } = parseServeFlags(flags);
    if (flags.anonymousRead && !flags.users) throw new UsageError('--anonymous-read only means something with --users');
    const dav = await startDav({
      trackers: requireTrackers(cfg),
      domain: flags.domain,
      prefix: flags.prefix,
      host: flags.host,
      port,
      spoolDir: flags.spoolDir,
      spoolLimitBytes: flags.spoolLimit ? parseSize(flags.spoolLimit) : 0,
      cacheMs: cacheSeconds * 1000,
      readOnly: flags.readOnly,
      defaultClass: flags.class,
      usersFile: flags.users,
      anonymousRead: flags.anonymousRead,
      tlsCert: flags.tlsCert,
      tlsKey: flags.tlsKey,
      log,
    });
    stopOnSignals(() => dav.close());
    const what = flags.domain ? `domain ${flags.domain}${flags.prefix ? ` prefix ${flags.prefix}` : ''}` : 'every domain';
    process.stdout.write(`mogfs dav serving ${what} at ${dav.url}\n`);
  });

  program
    .command('dav-user')
    .description('add a WebDAV user (or change one\'s password) in a users file; the password is read from stdin')
    .argument('<file>', 'users file (made when missing)')
    .argument('<name>', 'user name')
    .option('--read-only', 'the user may read but not write')
    .action(async (file: string, name: string, flags: { readOnly?: boolean }) => {
      const password = (await readStdin()).replace(/\r?\n$/, '');
      if (password === '') throw new UsageError('give the password on stdin, e.g.: echo secret | mogfs dav-user users.txt alice');
      await setUser(file, name, password, flags.readOnly === true);
      process.stdout.write(`${name} ${flags.readOnly ? '(read-only) ' : ''}set in ${file}\n`);
    });
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password: ');
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
