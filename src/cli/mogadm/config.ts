/**
 * Where mogadm finds its trackers, as the original does: --trackers, else a
 * `trackers = host:port, host:port` line in the --config file,
 * ~/.mogilefs.conf or /etc/mogilefs/mogilefs.conf (in that order of
 * precedence), else a tracker answering on 127.0.0.1:7001.
 */
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fail, TEXT } from './session';

export interface GlobalFlags {
  trackers?: string;
  config?: string;
  lib?: string;
  verbose?: boolean;
}

export interface MogadmSettings {
  trackers: string[];
  verbose: boolean;
  timeoutMs: number;
}

export const SYSTEM_CONFIG = '/etc/mogilefs/mogilefs.conf';
const LOCAL_TRACKER = { host: '127.0.0.1', port: 7001 };
/** The original's admin timeout: long enough for the tracker's slowest admin lock (fsck status). */
const DEFAULT_TIMEOUT_SEC = 15;

/** `key = value` lines, `#` comments, keys of word characters: the original's config format. */
export function parseConfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*(\w+)\s*=\s*(.+?)\s*$/.exec(raw.replace(/#.*/, ''));
    if (m) out[m[1]] = m[2];
  }
  return out;
}

async function readIfExists(file: string, required: boolean): Promise<Record<string, string>> {
  try {
    return parseConfig(await readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return {};
    fail(`unable to open ${file}: ${(e as Error).message}`);
  }
}

/**
 * The config files, most important first. (The original's newest release
 * reads them so that /etc wins over ~ and --config, which contradicts its
 * own docs; the documented order is what operators rely on.)
 */
export function configFiles(explicit: string | undefined, home: string): string[] {
  return [explicit, path.join(home, '.mogilefs.conf'), SYSTEM_CONFIG].filter((f): f is string => !!f);
}

export function splitTrackers(v: string | undefined): string[] {
  return (v ?? '').split(/\s*,\s*/).map((t) => t.trim()).filter((t) => t !== '');
}

async function localTrackerAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(LOCAL_TRACKER);
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function resolveSettings(flags: GlobalFlags, home = process.env.HOME || os.homedir()): Promise<MogadmSettings> {
  const conf: Record<string, string> = {};
  const files = configFiles(flags.config, home);
  // Read least important first so more important files overwrite.
  for (const f of [...files].reverse()) Object.assign(conf, await readIfExists(f, f === flags.config));

  let trackers = splitTrackers(flags.trackers ?? conf.trackers);
  if (trackers.length === 0) {
    if (!(await localTrackerAnswers())) fail(TEXT.no_trackers);
    trackers = [`${LOCAL_TRACKER.host}:${LOCAL_TRACKER.port}`];
  }
  const verboseConf = conf.verbose !== undefined && conf.verbose !== '0' && conf.verbose !== '';
  const timeoutSec = /^\d+$/.test(conf.timeout ?? '') && Number(conf.timeout) > 0 ? Number(conf.timeout) : DEFAULT_TIMEOUT_SEC;
  return { trackers, verbose: flags.verbose === true || verboseConf, timeoutMs: timeoutSec * 1000 };
}
