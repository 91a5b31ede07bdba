/**
 * What every file tool shares: the --trackers/--domain/--conf flags, opening
 * a client from the one config loader, and turning any failure into one
 * clear line on stderr and a non-zero exit status.
 */
import type { Command } from 'commander';
import { MogError, MogileFS } from '../../client';
import { loadClientConfig } from '../config';
import type { ClientConfig, ConfigFlags } from '../config';

/** A mistake in how the tool was called (exit status 2, as usage errors usually get). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ClientFlags {
  trackers?: string;
  domain?: string;
  conf?: string;
}

/** Adds the flags MogileFS-Utils' tools all take. */
export function withClientOptions(cmd: Command, opts: { domain?: boolean } = {}): Command {
  cmd.option('--trackers <list>', 'trackers, host:port[,host:port...] (else $MOGFS_TRACKERS, else the config file)');
  if (opts.domain !== false) cmd.option('--domain <domain>', 'domain (else $MOGFS_DOMAIN, else the config file)');
  cmd.option('--conf <file>', 'config file with `trackers = ...` and `domain = ...` lines');
  return cmd;
}

export async function loadConfig(flags: ClientFlags & { class?: string }): Promise<ClientConfig> {
  const cf: ConfigFlags = { trackers: flags.trackers, domain: flags.domain, conf: flags.conf, class: flags.class };
  return loadClientConfig(cf);
}

export function requireTrackers(cfg: ClientConfig): string[] {
  if (cfg.trackers.length === 0) {
    throw new UsageError('no trackers given: use --trackers=host:port, set MOGFS_TRACKERS, or put `trackers = host:port` in ~/.mogilefs.conf');
  }
  return cfg.trackers;
}

export function requireDomain(cfg: ClientConfig): string {
  if (!cfg.domain) {
    throw new UsageError('no domain given: use --domain=NAME, set MOGFS_DOMAIN, or put `domain = NAME` in ~/.mogilefs.conf');
  }
  return cfg.domain;
}

/** A client on the configured trackers and domain; the caller closes it. */
export async function openClient(flags: ClientFlags & { class?: string }): Promise<{ mogc: MogileFS; cfg: ClientConfig }> {
  const cfg = await loadConfig(flags);
  const mogc = new MogileFS({ trackers: requireTrackers(cfg), domain: requireDomain(cfg) });
  return { mogc, cfg };
}

/** Runs `fn` with a client and closes it afterwards, whatever happens. */
export async function withClient<T>(flags: ClientFlags & { class?: string }, fn: (mogc: MogileFS, cfg: ClientConfig) => Promise<T>): Promise<T> {
  const { mogc, cfg } = await openClient(flags);
  try {
    return await fn(mogc, cfg);
  } finally {
    await mogc.close();
  }
}

/** Extra words for the tracker errors users meet most, so the line says what to do. */
const HINTS: Record<string, string> = {
  unreg_domain: 'no such domain: check --domain (mogadm domain list shows them)',
  unreg_class: 'no such class in this domain: check --class (mogadm class list shows them)',
  unknown_key: 'no such key in this domain',
  key_exists: 'the target key already exists; delete it first',
  no_devices: 'no writable device: check `mogadm device list`',
};

/** One line describing `e` for a user. */
export function describeError(e: unknown): string {
  if (e instanceof MogError) {
    const hint = HINTS[e.code];
    if (hint) return `${hint} (${e.code}: ${e.message})`;
    return e.message === e.code ? e.code : `${e.message} (${e.code})`;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && err.path) {
    const what: Record<string, string> = {
      ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory',
    };
    return `${err.path}: ${what[err.code] ?? err.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * Wraps a commander action: a thrown error becomes `mogfs TOOL: message` on
 * stderr and exit status 1 (2 for usage errors). The status is set rather
 * than process.exit()ed, so output still being piped out is not cut off.
 */
export function action<A extends unknown[]>(tool: string, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      process.stderr.write(`mogfs ${tool}: ${describeError(e)}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    }
    await exitWhenFlushed();
  };
}

/**
 * The tool is done and its client closed: exit once stdout and stderr have
 * flushed, rather than whenever the last stray timer of a library fires
 * (an upload watchdog armed after its request finished kept us alive 30 s).
 */
async function exitWhenFlushed(): Promise<void> {
  const open = [process.stdout, process.stderr].filter((s) => !s.writableEnded);
  await Promise.all(open.map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  process.exit();
}

/** A key from a positional argument or the MogileFS-Utils style --key flag (not both). */
export function keyArg(positional: string | undefined, flag: string | undefined, what = 'key'): string {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new UsageError(`give the ${what} once: as an argument or with --key, not both`);
  }
  const key = positional ?? flag;
  if (key === undefined || key === '') throw new UsageError(`a ${what} is required`);
  return key;
}

/** 1536 -> "1.5 KiB". */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
