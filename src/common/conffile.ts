/**
 * The daemons' config files, in the original's format: one `key = value` per
 * line (mogilefsd.conf also takes `key value`), `#` comment lines. Shared by
 * mogilefsd and mogstored so both read files the same way and both warn,
 * rather than die as the original does, about keys they do not know: an
 * operator's old file with a stray setting should not keep a node down.
 */
import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';

export interface ConfEntry {
  value: string;
  /** 1-based line number, for messages that point at the line. */
  line: number;
}

export interface ConfFile {
  file: string;
  /** Keys as written (the original's keys are case-sensitive lower case). Later lines win. */
  entries: Map<string, ConfEntry>;
}

export interface ReadConfOptions {
  /**
   * Strip `# ...` at the end of a line too. mogstored's parser does; mogilefsd's
   * keeps it, so a db_pass may contain `#`.
   */
  inlineComments?: boolean;
}

export class ConfFileError extends Error {}

// Key: word characters and dots (mogilefsd allows dots); then `=` or blanks.
const LINE = /^\s*([\w.]+)(?:\s*=\s*|\s+)(.*?)\s*$/;

/** Parse config text; a line of any other shape is an error naming the file and line. */
export function parseConf(text: string, file: string, opts: ReadConfOptions = {}): ConfFile {
  const entries = new Map<string, ConfEntry>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (opts.inlineComments) line = line.replace(/#.*/, '');
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = LINE.exec(line);
    if (!m || m[2] === '') {
      throw new ConfFileError(`${file} line ${i + 1}: expected "key = value", got "${lines[i].trim().slice(0, 80)}"`);
    }
    entries.set(m[1], { value: m[2], line: i + 1 });
  }
  return { file, entries };
}

export async function readConf(file: string, opts: ReadConfOptions = {}): Promise<ConfFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfFileError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  return parseConf(text, file, opts);
}

/**
 * The file to read: the one given, else the default path when it is readable
 * (as the originals do), else none. `skip` (mogilefsd's --skipconfig) reads none.
 */
export async function chooseConfFile(given: string | undefined, defaultPath: string, skip = false): Promise<string | undefined> {
  if (skip) return undefined;
  if (given) return given;
  try {
    await access(defaultPath, constants.R_OK);
    return defaultPath;
  } catch {
    return undefined;
  }
}

/** An empty file, for when no config file is read. */
export function emptyConf(): ConfFile {
  return { file: '(none)', entries: new Map() };
}

/** Keys the file holds that are in neither list: the caller warns about these. */
export function unknownKeys(conf: ConfFile, known: Iterable<string>): { key: string; line: number }[] {
  const set = new Set(known);
  const out: { key: string; line: number }[] = [];
  for (const [key, e] of conf.entries) if (!set.has(key)) out.push({ key, line: e.line });
  return out;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ListenDefaults {
  /** Host for a bare `PORT`. */
  host: string;
  /** Port for a bare `HOST` (mogilefsd's `listen = 10.0.0.1` takes conf_port); none: a bare host is an error. */
  port?: number;
  /** Flag or key named in the error message. */
  what: string;
  example: string;
}

/** `HOST:PORT`, `[v6]:PORT`, a bare `PORT`, or (with a default port) a bare `HOST`. */
export function parseListenAddress(value: string, d: ListenDefaults): ListenAddress {
  const v = value.trim();
  let m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(v);
  if (!m && /^\d+$/.test(v)) m = ['', undefined, d.host, v] as unknown as RegExpExecArray;
  if (!m && d.port !== undefined && /^(?:\[[^\]]+\]|[\w.-]+)$/.test(v)) {
    m = ['', undefined, v.replace(/^\[|\]$/g, ''), String(d.port)] as unknown as RegExpExecArray;
  }
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${d.what} must look like HOST:PORT (for example ${d.example}), got "${value}"`);
  }
  return { host: m[1] || m[2] || d.host, port };
}

/** A whole number >= min (1 unless given), or an error naming the setting. */
export function parseCount(v: string, what: string, min = 1): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new Error(`${what} must be a whole number of at least ${min}, got "${v}"`);
  }
  return n;
}

/** The original's booleans: 1/0, on/off, yes/no, true/false. */
export function parseBool(v: string, what: string): boolean {
  if (/^(1|t|true|on|y|yes)$/i.test(v.trim())) return true;
  if (/^(0|f|false|off|n|no|)$/i.test(v.trim())) return false;
  throw new Error(`${what} must be 1 or 0 (on/off, yes/no), got "${v}"`);
}
