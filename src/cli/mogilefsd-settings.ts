/**
 * mogilefsd's settings: command line flags over /etc/mogilefs/mogilefsd.conf
 * over defaults, with the original's keys and flag names (MogileFS::Config),
 * plus our own `--db`, `--metrics` and `--no-workers`. Pure functions, so the
 * precedence rules can be tested without starting anything.
 */
import type { ConfFile, ListenAddress } from '../common/conffile';
import { parseBool, parseCount, parseListenAddress, unknownKeys } from '../common/conffile';
import { mysqlUrlFromDbi } from '../store/mysql/dbi';

export const DEFAULT_TRACKER_CONFIG = '/etc/mogilefs/mogilefsd.conf';

/** Keys we act on. */
const USED_KEYS = [
  'db_dsn', 'db_user', 'db_pass', 'listen', 'conf_port', 'replicate_jobs', 'delete_jobs',
  'node_timeout', 'pidfile', 'user', 'debug', 'daemonize', 'metrics', 'mogfs_extensions',
  'idle_timeout', 'min_free_space',
];
/**
 * The original's keys that mean nothing here: one process serves all queries
 * (query_jobs), the monitor and reaper are single tasks, and the rest tune
 * features we do not have. Accepted silently so existing files keep working.
 */
export const IGNORED_TRACKER_KEYS = [
  'query_jobs', 'listener_jobs', 'reaper_jobs', 'monitor_jobs', 'checker_jobs', 'fsck_jobs',
  'job_master', 'mog_root', 'max_disk_age', 'default_mindevcount',
  'old_repl_compat', 'no_schema_check', 'plugins', 'repl_use_get_port', 'no_http', 'workerport',
];

/** What commander hands us (flag names as the original spells them, camelCased where they have dashes). */
export interface TrackerFlags {
  config?: string;
  skipconfig?: boolean;
  listen?: string[];
  confport?: string;
  db?: string;
  dsn?: string;
  dbuser?: string;
  dbpass?: string | boolean;
  workers?: string | boolean;
  replicateJobs?: string;
  deleteJobs?: string;
  nodeTimeout?: string;
  node_timeout?: string;
  idleTimeout?: string;
  minFreeSpace?: string;
  pidfile?: string;
  user?: string;
  debug?: boolean;
  daemonize?: boolean;
  metrics?: string;
  extensions?: boolean;
}

export interface TrackerSettings {
  dsn: string;
  listen: ListenAddress;
  replicateJobs?: number;
  deleteJobs?: number;
  nodeTimeoutMs?: number;
  /** Close client connections idle this long (0: never). */
  idleTimeoutMs?: number;
  /** Devices with less free space get no new files, MB. */
  minFreeMb?: number;
  /** Run the background jobs (false with --no-workers). */
  workers: boolean;
  /** Serve our mogfs_* extension commands (false with --no-extensions or `mogfs_extensions = 0`). */
  extensions: boolean;
  pidfile?: string;
  /** Drop root privileges to this user once listening. */
  user?: string;
  debug: boolean;
  /** Prometheus endpoint; off when undefined. */
  metrics?: ListenAddress;
  /** Keys of the file we do not know (to warn about). */
  unknownKeys: { key: string; line: number }[];
}

/** `HOST:PORT`, `[v6]:PORT` or a bare `PORT` (host then 127.0.0.1). */
export function parseListen(value: string): ListenAddress {
  return parseListenAddress(value, { host: '127.0.0.1', what: '--listen', example: '127.0.0.1:7001' });
}

/**
 * Our DSN from the original's DBI one: `DBI:mysql:DB:host=H;port=P` (and
 * DBD::mysql's `mysql_socket=PATH`) with db_user/db_pass, or
 * `DBI:SQLite:dbname=PATH`.
 */
export function dsnFromDbi(dbi: string, user?: string, pass?: string): string {
  const sqlite = /^dbi:sqlite:(?:dbname=)?(.+)$/i.exec(dbi);
  if (sqlite) return `sqlite:${sqlite[1]}`;
  const my = mysqlUrlFromDbi(dbi, user, pass);
  if (!my) throw new Error(`db_dsn "${dbi}" is not a DBI:mysql or DBI:SQLite DSN`);
  return my.url;
}

/** The first of flag, file value, that is defined. */
function pick(flag: string | undefined, conf: ConfFile, key: string): string | undefined {
  return flag ?? conf.entries.get(key)?.value;
}

function resolveDsn(f: TrackerFlags, conf: ConfFile): string {
  if (f.db) return f.db;
  const dbi = pick(f.dsn, conf, 'db_dsn');
  if (!dbi) throw new Error('no database given: use --db sqlite:PATH, --db mysql://user:pass@host:port/db, or db_dsn in mogilefsd.conf');
  // Our own DSN forms are welcome in db_dsn too.
  if (/^(sqlite:|mysql:\/\/)/i.test(dbi)) return dbi;
  // The original's default user when db_user is unset.
  const user = pick(f.dbuser, conf, 'db_user') ?? (/^dbi:(mysql|mariadb):/i.test(dbi) ? 'mogile' : undefined);
  const pass = typeof f.dbpass === 'string' ? f.dbpass : conf.entries.get('db_pass')?.value;
  return dsnFromDbi(dbi, user, pass);
}

/**
 * The listen address: --listen, else the file's `listen`, else all
 * interfaces; an entry without a port takes conf_port (default 7001), as
 * the original does. One address only: 0.0.0.0 already covers every interface.
 */
function resolveListen(f: TrackerFlags, conf: ConfFile): ListenAddress {
  const confPortText = pick(f.confport, conf, 'conf_port');
  const confPort = confPortText === undefined ? 7001 : parseCount(confPortText, 'conf_port', 0);
  const raw = f.listen && f.listen.length > 0 ? f.listen.join(',') : (conf.entries.get('listen')?.value ?? '0.0.0.0');
  const entries = [...new Set(raw.split(/\s*,\s*/).filter((s) => s !== ''))];
  if (entries.length !== 1) {
    throw new Error(`listen must be one address (use 0.0.0.0:${confPort} for every interface), got "${raw}"`);
  }
  return parseListenAddress(entries[0], { host: '127.0.0.1', port: confPort, what: 'listen', example: '0.0.0.0:7001' });
}

export function resolveTrackerSettings(f: TrackerFlags, conf: ConfFile): TrackerSettings {
  const debugText = conf.entries.get('debug')?.value;
  const daemonize = f.daemonize === true || parseBool(conf.entries.get('daemonize')?.value ?? '0', 'daemonize');
  if (daemonize) {
    throw new Error('mogilefsd does not daemonize itself: run it in the foreground under systemd (docs/systemd/mogilefsd.service) and drop -D / daemonize');
  }
  const s: TrackerSettings = {
    dsn: resolveDsn(f, conf),
    listen: resolveListen(f, conf),
    workers: f.workers !== false,
    extensions: f.extensions !== false && parseBool(conf.entries.get('mogfs_extensions')?.value ?? '1', 'mogfs_extensions'),
    debug: f.debug === true || (debugText !== undefined && debugText !== '0'),
    unknownKeys: unknownKeys(conf, [...USED_KEYS, ...IGNORED_TRACKER_KEYS]),
  };
  const rj = pick(f.replicateJobs, conf, 'replicate_jobs');
  if (rj !== undefined) s.replicateJobs = parseCount(rj, 'replicate_jobs');
  const dj = pick(f.deleteJobs, conf, 'delete_jobs');
  if (dj !== undefined) s.deleteJobs = parseCount(dj, 'delete_jobs');
  const nt = f.nodeTimeout ?? f.node_timeout ?? conf.entries.get('node_timeout')?.value;
  if (nt !== undefined) {
    const secs = Number(nt);
    if (!(secs > 0)) throw new Error(`node_timeout must be a positive number of seconds, got "${nt}"`);
    s.nodeTimeoutMs = secs * 1000;
  }
  const it = pick(f.idleTimeout, conf, 'idle_timeout');
  if (it !== undefined) {
    const secs = Number(it);
    if (!(secs >= 0) || !Number.isFinite(secs)) throw new Error(`idle_timeout must be a number of seconds (0: never), got "${it}"`);
    s.idleTimeoutMs = Math.round(secs * 1000);
  }
  const mf = pick(f.minFreeSpace, conf, 'min_free_space');
  if (mf !== undefined) {
    const mb = Number(mf);
    if (!(mb >= 0) || !Number.isFinite(mb)) throw new Error(`min_free_space must be a number of MB, got "${mf}"`);
    s.minFreeMb = mb;
  }
  const pidfile = pick(f.pidfile, conf, 'pidfile');
  if (pidfile) s.pidfile = pidfile;
  const user = pick(f.user, conf, 'user');
  if (user) s.user = user;
  const metrics = pick(f.metrics, conf, 'metrics');
  if (metrics !== undefined && metrics !== '' && metrics !== 'off') {
    s.metrics = parseListenAddress(metrics, { host: '127.0.0.1', what: 'metrics', example: '127.0.0.1:7002' });
  }
  return s;
}
