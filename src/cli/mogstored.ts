/**
 * mogstored: the storage node as a process. Flags and config keys as the
 * original's (the config file's keys are the long flag names):
 *   mogstored [--config FILE] [--docroot DIR] [--httplisten HOST:PORT] [--mgmtlisten HOST:PORT] [--metrics HOST:PORT]
 *             [--headers-timeout S] [--idle-timeout S] [--keepalive-timeout S]
 * The config file is the given one, else /etc/mogilefs/mogstored.conf when
 * present; flags override it. Prints one line with the bound ports on
 * stdout; stops cleanly on SIGTERM/SIGINT.
 */
import { Command } from 'commander';
import { chooseConfFile, emptyConf, parseBool, parseListenAddress, readConf, unknownKeys } from '../common/conffile';
import type { ConfFile, ListenAddress } from '../common/conffile';
import { runDaemonMain, stopOnSignals, writePidFile } from '../common/daemon';
import { createLogger } from '../common/log';
import { createMetricsRegistry, startMetricsServer } from '../common/metrics';
import type { MetricsServer } from '../common/metrics';
import { DEFAULT_HTTP_TIMEOUTS, startStorageNode, type HttpTimeouts, type StorageNode } from '../storage';
import { StorageMetrics } from '../storage/metrics';

export const DEFAULT_STORAGE_CONFIG = '/etc/mogilefs/mogstored.conf';

const USED_KEYS = [
  'docroot', 'httplisten', 'mgmtlisten', 'pidfile', 'daemonize', 'metrics', 'fsync', 'usage_interval',
  'headers_timeout', 'idle_timeout', 'keepalive_timeout',
];
/** The original's keys for its pluggable HTTP servers and iostat child: no meaning here. */
export const IGNORED_STORAGE_KEYS = ['maxconns', 'server', 'serverbin', 'iostat'];

interface StorageFlags {
  config?: string;
  docroot?: string;
  httplisten?: string;
  mgmtlisten?: string;
  mgmt: boolean;
  usageInterval?: string;
  headersTimeout?: string;
  idleTimeout?: string;
  keepaliveTimeout?: string;
  fsync?: boolean;
  pidfile?: string;
  daemonize?: boolean;
  metrics?: string;
}

export interface StorageSettings {
  docroot: string;
  http: ListenAddress;
  /** null: no side channel. */
  mgmt: ListenAddress | null;
  usageIntervalMs: number;
  timeouts: HttpTimeouts;
  fsync: boolean;
  pidfile?: string;
  metrics?: ListenAddress;
  unknownKeys: { key: string; line: number }[];
}

/** `HOST:PORT`, `[v6]:PORT` or a bare `PORT` (host then defaults to 127.0.0.1). */
export function parseListen(value: string, flag: string): ListenAddress {
  return parseListenAddress(value, { host: '127.0.0.1', what: flag, example: '127.0.0.1:7500' });
}

/** A positive number of seconds (fractions allowed) from a flag or the file, in ms. */
function seconds(text: string | undefined, name: string, defaultMs: number): number {
  if (text === undefined) return defaultMs;
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name.replace(/_/g, '-')} (${name}) must be a positive number of seconds, got "${text}"`);
  return Math.round(n * 1000);
}

/** Flags over file over the original's defaults (0.0.0.0:7500, 0.0.0.0:7501, /var/mogdata). */
export function resolveStorageSettings(f: StorageFlags, conf: ConfFile): StorageSettings {
  const get = (key: string): string | undefined => conf.entries.get(key)?.value;
  if (f.daemonize === true || parseBool(get('daemonize') ?? '0', 'daemonize')) {
    throw new Error('mogstored does not daemonize itself: run it in the foreground under systemd (docs/systemd/mogstored.service) and drop --daemonize');
  }
  const http = parseListen(f.httplisten ?? get('httplisten') ?? '0.0.0.0:7500', '--httplisten');
  const mgmtText = f.mgmtlisten ?? get('mgmtlisten');
  const mgmt = f.mgmt ? parseListen(mgmtText ?? `${http.host}:7501`, '--mgmtlisten') : null;
  if (mgmt && mgmt.host !== http.host) {
    throw new Error('--httplisten and --mgmtlisten must use the same host address');
  }
  const intervalText = f.usageInterval ?? get('usage_interval') ?? '10';
  const interval = Number(intervalText);
  if (!(interval > 0)) throw new Error(`--usage-interval must be a positive number of seconds, got "${intervalText}"`);
  const s: StorageSettings = {
    docroot: f.docroot ?? get('docroot') ?? '/var/mogdata',
    http,
    mgmt,
    usageIntervalMs: interval * 1000,
    timeouts: {
      headersMs: seconds(f.headersTimeout ?? get('headers_timeout'), 'headers_timeout', DEFAULT_HTTP_TIMEOUTS.headersMs),
      idleMs: seconds(f.idleTimeout ?? get('idle_timeout'), 'idle_timeout', DEFAULT_HTTP_TIMEOUTS.idleMs),
      keepAliveMs: seconds(f.keepaliveTimeout ?? get('keepalive_timeout'), 'keepalive_timeout', DEFAULT_HTTP_TIMEOUTS.keepAliveMs),
    },
    fsync: f.fsync ?? parseBool(get('fsync') ?? '0', 'fsync'),
    unknownKeys: unknownKeys(conf, [...USED_KEYS, ...IGNORED_STORAGE_KEYS]),
  };
  const pidfile = f.pidfile ?? get('pidfile');
  if (pidfile) s.pidfile = pidfile;
  const metrics = f.metrics ?? get('metrics');
  if (metrics !== undefined && metrics !== '' && metrics !== 'off') {
    s.metrics = parseListenAddress(metrics, { host: '127.0.0.1', what: '--metrics', example: '127.0.0.1:7502' });
  }
  return s;
}

function program(): Command {
  return new Command('mogstored')
    .description('MogileFS storage node: HTTP over dev<N>/ directories, usage files and the side channel')
    .option('--config <file>', `config file of key = value lines (default ${DEFAULT_STORAGE_CONFIG} when present)`)
    .option('--docroot <dir>', 'directory holding the dev<N> device directories (default /var/mogdata)')
    .option('--httplisten <host:port>', 'HTTP listen address (default 0.0.0.0:7500)')
    .option('--mgmtlisten <host:port>', 'side channel listen address (default the HTTP host, port 7501)')
    .option('--no-mgmt', 'do not open the side channel')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (default off)')
    .option('--usage-interval <seconds>', 'seconds between usage file rewrites (usage_interval; default 10)')
    .option('--headers-timeout <seconds>', 'close a connection whose request headers take longer (headers_timeout; default 30)')
    .option('--idle-timeout <seconds>', 'close a connection where no byte moves for this long mid-request, e.g. a stalled upload (idle_timeout; default 60)')
    .option('--keepalive-timeout <seconds>', 'close an idle keep-alive connection after this long (keepalive_timeout; default 30)')
    .option('--fsync', 'fsync each uploaded file before it becomes visible')
    .option('--pidfile <file>', 'write the process id here')
    .option('-d, --daemonize', 'not supported: run in the foreground under systemd')
    .option('--maxconns <n>', 'accepted for compatibility; ignored')
    .option('--server <type>', 'accepted for compatibility; ignored (mogstored is its own HTTP server)')
    .option('--serverbin <path>', 'accepted for compatibility; ignored')
    .option('--iostat', 'accepted for compatibility; I/O stats are always on')
    .exitOverride();
}

/** Parse flags, start the node, install signal handlers; rejects on bad flags or a failed start. */
export async function runMogstored(argv: string[]): Promise<StorageNode> {
  const cmd = program();
  cmd.parse(argv);
  const flags = cmd.opts<StorageFlags>();
  const file = await chooseConfFile(flags.config, DEFAULT_STORAGE_CONFIG);
  // mogstored's parser strips `# ...` anywhere on a line.
  const conf = file ? await readConf(file, { inlineComments: true }) : emptyConf();
  const s = resolveStorageSettings(flags, conf);
  const log = createLogger('mogstored');
  for (const u of s.unknownKeys) log.warn({ file, line: u.line, key: u.key }, `unknown key "${u.key}" in ${file}; ignored`);
  log.info(
    {
      config: file ?? null,
      docroot: s.docroot,
      httplisten: `${s.http.host}:${s.http.port}`,
      mgmtlisten: s.mgmt ? `${s.mgmt.host}:${s.mgmt.port}` : null,
      usageIntervalMs: s.usageIntervalMs,
      timeouts: s.timeouts,
      fsync: s.fsync,
      metrics: s.metrics ? `${s.metrics.host}:${s.metrics.port}` : null,
      pidfile: s.pidfile ?? null,
    },
    'mogstored settings',
  );

  const registry = s.metrics ? createMetricsRegistry() : null;
  const node = await startStorageNode({
    docroot: s.docroot,
    host: s.http.host,
    httpPort: s.http.port,
    mgmtPort: s.mgmt ? s.mgmt.port : null,
    usageIntervalMs: s.usageIntervalMs,
    timeouts: s.timeouts,
    fsync: s.fsync,
    log,
    metrics: registry ? new StorageMetrics(registry) : undefined,
  });
  let metricsServer: MetricsServer | null = null;
  const stop = async (): Promise<void> => {
    await metricsServer?.close();
    await node.close();
  };
  try {
    if (registry && s.metrics) metricsServer = await startMetricsServer({ registry, host: s.metrics.host, port: s.metrics.port, log });
    if (s.pidfile) await writePidFile(s.pidfile);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  // Handlers go in before the line is printed: whoever waits for the line may signal at once.
  stopOnSignals('mogstored', log, stop);
  const mgmt = node.mgmtPort === null ? 'off' : `${node.host}:${node.mgmtPort}`;
  const m = metricsServer ? ` metrics=${metricsServer.host}:${metricsServer.port}` : '';
  process.stdout.write(`mogstored listening http=${node.host}:${node.httpPort} mgmt=${mgmt} docroot=${node.docroot}${m}\n`);
  return node;
}

/**
 * The process entry: never rejects (errors are printed and set the exit
 * code), so the bin/ launcher can stay one line. Resolves to the running
 * node, or null when it could not start.
 */
export function main(argv: string[]): Promise<StorageNode | null> {
  return runDaemonMain('mogstored', () => runMogstored(argv));
}

if (require.main === module) void main(process.argv);
