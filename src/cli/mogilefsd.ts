/**
 * mogilefsd: the tracker as a process.
 *   mogilefsd --db sqlite:PATH|mysql://user:pass@host:port/db [--listen HOST:PORT]
 * or the original's mogilefsd.conf (`listen`, `db_dsn`, `db_user`, `db_pass`,
 * `replicate_jobs`, `delete_jobs`, `node_timeout`) given with --config.
 * Prints one line with the bound address on stdout; stops on SIGTERM/SIGINT.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { createLogger } from '../common/log';
import { openStore } from '../store';
import type { MetadataStore } from '../store';
import { startTracker } from '../tracker';
import type { Tracker, TrackerConfig } from '../tracker';

/** `HOST:PORT`, `[v6]:PORT` or a bare `PORT` (host then 127.0.0.1). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--listen must look like HOST:PORT (for example 127.0.0.1:7001), got "${value}"`);
  }
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** The original's `key = value` config file, # comments. */
async function readConfig(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const m = /^\s*([\w-]+)\s*=\s*(.*?)\s*$/.exec(line.replace(/#.*/, ''));
    if (m) out[m[1].toLowerCase()] = m[2];
  }
  return out;
}

/**
 * Our DSN from the original's DBI one: `DBI:mysql:DB:host=H;port=P` with
 * db_user/db_pass, or `DBI:SQLite:dbname=PATH`.
 */
export function dsnFromDbi(dbi: string, user?: string, pass?: string): string {
  const sqlite = /^dbi:sqlite:(?:dbname=)?(.+)$/i.exec(dbi);
  if (sqlite) return `sqlite:${sqlite[1]}`;
  const my = /^dbi:(?:mysql|mariadb):(.*)$/i.exec(dbi);
  if (!my) throw new Error(`db_dsn "${dbi}" is not a DBI:mysql or DBI:SQLite DSN`);
  let db = '';
  let host = '127.0.0.1';
  let port = '3306';
  for (const part of my[1].split(/[;:]/)) {
    const kv = /^(\w+)=(.*)$/.exec(part);
    if (!kv) {
      if (part) db = part;
    } else if (kv[1] === 'host') host = kv[2];
    else if (kv[1] === 'port') port = kv[2];
    else if (kv[1] === 'database' || kv[1] === 'dbname') db = kv[2];
  }
  const auth = user ? `${encodeURIComponent(user)}${pass ? ':' + encodeURIComponent(pass) : ''}@` : '';
  return `mysql://${auth}${host}:${port}/${db}`;
}

interface Flags {
  listen?: string;
  db?: string;
  config?: string;
  workers: boolean;
  replicateJobs?: string;
  deleteJobs?: string;
  nodeTimeout?: string;
}

function positiveInt(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive whole number, got "${v}"`);
  return n;
}

/** Parse flags, open the store, start the tracker, install signal handlers. */
export async function runMogilefsd(argv: string[]): Promise<Tracker> {
  const program = new Command('mogilefsd')
    .description('MogileFS tracker: the line protocol on port 7001 plus replication, delete and monitor jobs')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:7001)')
    .option('--db <dsn>', 'metadata store: sqlite:PATH or mysql://user:pass@host:port/db')
    .option('-c, --config <file>', "read listen/db_dsn/db_user/db_pass/... from the original's mogilefsd.conf")
    .option('--no-workers', 'answer queries only; run no background jobs')
    .option('--replicate-jobs <n>', 'parallel replications (replicate_jobs)')
    .option('--delete-jobs <n>', 'parallel deletes (delete_jobs)')
    .option('--node-timeout <seconds>', 'timeout for storage node requests (node_timeout)')
    .exitOverride();
  program.parse(argv);
  const o = program.opts<Flags>();
  const conf = o.config ? await readConfig(o.config) : {};

  const dsn = o.db ?? (conf.db_dsn ? dsnFromDbi(conf.db_dsn, conf.db_user, conf.db_pass) : undefined);
  if (!dsn) throw new Error('no database given: use --db sqlite:PATH or --db mysql://user:pass@host:port/db');
  const { host, port } = parseListen(o.listen ?? conf.listen ?? '127.0.0.1:7001');
  const config: Partial<TrackerConfig> = { host, port };
  const rj = positiveInt(o.replicateJobs ?? conf.replicate_jobs, '--replicate-jobs');
  if (rj) config.replicateJobs = rj;
  const dj = positiveInt(o.deleteJobs ?? conf.delete_jobs, '--delete-jobs');
  if (dj) config.deleteJobs = dj;
  const nt = o.nodeTimeout ?? conf.node_timeout;
  if (nt !== undefined) {
    const secs = Number(nt);
    if (!(secs > 0)) throw new Error(`--node-timeout must be a positive number of seconds, got "${nt}"`);
    config.nodeTimeoutMs = secs * 1000;
  }

  const log = createLogger('mogilefsd');
  const store: MetadataStore = await openStore({ dsn });
  let tracker: Tracker;
  try {
    tracker = await startTracker({ store, config, log, workers: o.workers });
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  process.stdout.write(`mogilefsd listening ${tracker.host}:${tracker.port} db=${store.engine}\n`);

  const stop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'mogilefsd stopping');
    // If something still holds the loop open after close, don't hang forever.
    setTimeout(() => process.exit(0), 5000).unref();
    tracker
      .close()
      .then(() => store.close())
      .then(
        () => {
          process.exitCode = 0;
        },
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          process.exitCode = 1;
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return tracker;
}

/** The process entry: never rejects (errors are printed and set the exit code). */
export async function main(argv: string[]): Promise<Tracker | null> {
  try {
    return await runMogilefsd(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      process.exitCode = e.exitCode ?? 1;
    } else {
      process.stderr.write(`mogilefsd: ${e.message ?? String(err)}\n`);
      process.exitCode = 1;
    }
    return null;
  }
}

if (require.main === module) void main(process.argv);
