/**
 * The one config loader for mogfs's client tools: trackers and domain (and
 * class) come from command line flags, then the environment (MOGFS_TRACKERS,
 * MOGFS_DOMAIN, MOGFS_CLASS), then a config file in MogileFS-Utils' format:
 *
 *   # ~/.mogilefs.conf or /etc/mogilefs/mogilefs.conf
 *   trackers = 10.0.0.1:7001,10.0.0.3:7001
 *   domain = foo
 *
 * Config files, first one holding a setting wins: --conf FILE, $MOGUTILSCONF
 * (as MogileFS-Utils), ~/.mogilefs.conf, /etc/mogilefs/mogilefs.conf. (The
 * Perl tools let /etc win over the home file; the more specific file winning
 * is what users expect, so we do that.) A tracker without a port gets :7001.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_TRACKER_PORT = 7001;

/** What a tool may get from its flags; anything undefined is looked up further. */
export interface ConfigFlags {
  trackers?: string;
  domain?: string;
  class?: string;
  conf?: string;
}

export interface ClientConfig {
  /** "host:port" of each tracker; empty when none was configured anywhere. */
  trackers: string[];
  domain?: string;
  class?: string;
  /** Every `key = value` the config files held (mogstats reads db_dsn etc. from there). */
  file: Record<string, string>;
  /** Files that were read, most specific first. */
  files: string[];
}

/** `key = value` lines; `#` starts a comment. Lines of any other shape are ignored, as the original does. */
export function parseConfigText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '');
    const m = /^\s*(\w+)\s*=\s*(.+?)\s*$/.exec(line);
    if (m && !(m[1] in out)) out[m[1]] = m[2];
  }
  return out;
}

/** "a,b:7002" -> ["a:7001", "b:7002"]; spaces around entries are dropped. */
export function parseTrackers(list: string): string[] {
  return list
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((t) => (/:\d+$/.test(t) ? t : `${t}:${DEFAULT_TRACKER_PORT}`));
}

/** Config file candidates, most specific first. */
export function configFiles(flags: ConfigFlags, env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME ?? os.homedir();
  const list = [flags.conf, env.MOGUTILSCONF, home ? path.join(home, '.mogilefs.conf') : undefined, '/etc/mogilefs/mogilefs.conf'];
  return list.filter((f): f is string => typeof f === 'string' && f.length > 0);
}

async function readIfExists(file: string, required: boolean): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!required && (code === 'ENOENT' || code === 'ENOTDIR')) return null;
    throw new Error(`cannot read config file ${file}: ${(e as Error).message}`);
  }
}

export async function loadClientConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<ClientConfig> {
  const file: Record<string, string> = {};
  const files: string[] = [];
  for (const f of configFiles(flags, env)) {
    // A file named on the command line must exist; the default places may not.
    const text = await readIfExists(f, f === flags.conf);
    if (text === null) continue;
    files.push(f);
    for (const [k, v] of Object.entries(parseConfigText(text))) if (!(k in file)) file[k] = v;
  }
  const pick = (flag: string | undefined, envName: string, key: string): string | undefined => {
    for (const v of [flag, env[envName], file[key]]) if (v !== undefined && v !== '') return v;
    return undefined;
  };
  const trackers = pick(flags.trackers, 'MOGFS_TRACKERS', 'trackers');
  return {
    trackers: trackers ? parseTrackers(trackers) : [],
    domain: pick(flags.domain, 'MOGFS_DOMAIN', 'domain'),
    class: pick(flags.class, 'MOGFS_CLASS', 'class'),
    file,
    files,
  };
}
