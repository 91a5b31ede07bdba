/**
 * mogilefsd: the tracker as a process.
 *   mogilefsd [-c /etc/mogilefs/mogilefsd.conf] [--db DSN | --dsn DBI...] [--listen HOST:PORT] [--metrics HOST:PORT]
 * Settings come from flags, then the config file (the given one, else
 * /etc/mogilefs/mogilefsd.conf when readable), then defaults; see
 * mogilefsd-settings.ts and docs/OPERATIONS.md. Prints one line with the
 * bound address on stdout; stops cleanly on SIGTERM/SIGINT.
 */
import { Command } from 'commander';
import { chooseConfFile, emptyConf, readConf } from '../common/conffile';
import { runDaemonMain, stopOnSignals, writePidFile } from '../common/daemon';
import { createLogger } from '../common/log';
import type { Logger } from '../common/log';
import { lookupUser, shouldSwitchUser, switchUser } from '../common/users';
import type { UserIds } from '../common/users';
import { createMetricsRegistry, startMetricsServer } from '../common/metrics';
import type { MetricsServer } from '../common/metrics';
import { openStore } from '../store';
import type { MetadataStore } from '../store';
import { startTracker } from '../tracker';
import type { Tracker, TrackerConfig } from '../tracker';
import { TrackerMetrics } from '../tracker/metrics';
import { DEFAULT_TRACKER_CONFIG, IGNORED_TRACKER_KEYS, resolveTrackerSettings } from './mogilefsd-settings';
import type { TrackerFlags, TrackerSettings } from './mogilefsd-settings';

export { dsnFromDbi, parseListen, resolveTrackerSettings } from './mogilefsd-settings';
export type { TrackerFlags, TrackerSettings } from './mogilefsd-settings';

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

function program(): Command {
  const p = new Command('mogilefsd')
    .description('MogileFS tracker: the line protocol on port 7001 plus replication, delete and monitor jobs')
    .option('-c, --config <file>', `config file (default ${DEFAULT_TRACKER_CONFIG} when readable)`)
    .option('-s, --skipconfig', 'read no config file')
    .option('-l, --listen <host:port>', 'address to listen on (listen; default 0.0.0.0:7001)', collect)
    .option('-p, --confport <port>', 'port for a listen address given without one (conf_port; default 7001)')
    .option('--db <dsn>', 'metadata store: sqlite:PATH or mysql://user:pass@host:port/db')
    .option('--dsn <dbi>', 'metadata store as the original\'s DBI DSN (db_dsn), e.g. DBI:mysql:mogilefs:host=db1')
    .option('--dbuser <user>', 'database user for --dsn (db_user; default mogile)')
    .option('--dbpass [pass]', 'database password for --dsn (db_pass)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (metrics; default off)')
    .option('--replicate-jobs <n>', 'parallel replications (replicate_jobs)')
    .option('--delete-jobs <n>', 'parallel deletes (delete_jobs)')
    .option('--node-timeout <seconds>', 'timeout for storage node requests (node_timeout; default 2)')
    .option('--node_timeout <seconds>', 'the original\'s spelling of --node-timeout')
    .option('--idle-timeout <seconds>', 'close a client connection with no request for this long (idle_timeout; default 0 = never)')
    .option('--min-free-space <mb>', 'devices with less free space get no new files (min_free_space; default 100)')
    .option('-w, --workers <n>', 'query_jobs: accepted for compatibility; one process serves every query')
    .option('--no-workers', 'answer queries only; run no background jobs')
    .option('--no-extensions', 'answer as a stock tracker: no mogfs_* commands, no attributes (mogfs_extensions = 0)')
    .option('--pidfile <file>', 'write the process id here (pidfile)')
    .option('--user <name>', 'when started as root, switch to this user once listening (user)')
    .option('-d, --debug', 'log at debug level (debug)')
    .option('-D, --daemonize', 'not supported: run in the foreground under systemd')
    .exitOverride();
  // The original's flags for features we do not have: accepted, so existing init scripts keep working.
  for (const f of ['-r, --mogroot <dir>', '--maxdiskage <n>', '--minfreespace <mb>', '--default_mindevcount <n>', '--old_repl_compat <n>', '--plugins <list>', '--workerport <port>']) {
    p.option(f, 'accepted for compatibility; ignored');
  }
  p.option('--no_schema_check', 'accepted for compatibility; ignored').option('--no_http', 'accepted for compatibility; ignored');
  return p;
}

function logSettings(log: Logger, s: TrackerSettings, file: string | undefined, ignored: string[]): void {
  for (const u of s.unknownKeys) log.warn({ file, line: u.line, key: u.key }, `unknown key "${u.key}" in ${file}; ignored`);
  if (ignored.length > 0) log.info({ file, keys: ignored }, 'config keys with no effect in mogfs; ignored');
  log.info(
    {
      config: file ?? null,
      listen: `${s.listen.host}:${s.listen.port}`,
      db: s.dsn.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@'),
      replicateJobs: s.replicateJobs,
      deleteJobs: s.deleteJobs,
      nodeTimeoutMs: s.nodeTimeoutMs,
      idleTimeoutMs: s.idleTimeoutMs,
      minFreeMb: s.minFreeMb,
      workers: s.workers,
      extensions: s.extensions,
      metrics: s.metrics ? `${s.metrics.host}:${s.metrics.port}` : null,
      pidfile: s.pidfile ?? null,
    },
    'mogilefsd settings',
  );
}

/**
 * The ids `user = NAME` means, looked up (through NSS) before anything
 * listens, so an unknown user stops the start-up at once. Only when started
 * as root: the original only refused to run as root without `user = root`;
 * switching is what operators want from the key (systemd's User= does the
 * same from outside).
 */
async function userToBecome(user: string | undefined): Promise<UserIds | null> {
  return shouldSwitchUser(user) ? lookupUser(user) : null;
}

/** Parse flags and config, open the store, start the tracker, install signal handlers. */
export async function runMogilefsd(argv: string[]): Promise<Tracker> {
  const cmd = program();
  cmd.parse(argv);
  const flags = cmd.opts<TrackerFlags>();
  const file = await chooseConfFile(flags.config, DEFAULT_TRACKER_CONFIG, flags.skipconfig === true);
  const conf = file ? await readConf(file) : emptyConf();
  const s = resolveTrackerSettings(flags, conf);
  const log = createLogger('mogilefsd', process.env.MOGFS_LOG_LEVEL ?? (s.debug ? 'debug' : undefined));
  logSettings(log, s, file, IGNORED_TRACKER_KEYS.filter((k) => conf.entries.has(k)));

  const config: Partial<TrackerConfig> = { host: s.listen.host, port: s.listen.port };
  if (s.replicateJobs) config.replicateJobs = s.replicateJobs;
  if (s.deleteJobs) config.deleteJobs = s.deleteJobs;
  if (s.nodeTimeoutMs) config.nodeTimeoutMs = s.nodeTimeoutMs;
  if (s.idleTimeoutMs !== undefined) config.idleTimeoutMs = s.idleTimeoutMs;
  if (s.minFreeMb !== undefined) config.minFreeMb = s.minFreeMb;
  config.extensions = s.extensions;

  const becomeUser = await userToBecome(s.user);
  const store: MetadataStore = await openStore({ dsn: s.dsn });
  let tracker: Tracker | null = null;
  let metricsServer: MetricsServer | null = null;
  const stop = async (): Promise<void> => {
    await metricsServer?.close();
    await tracker?.close();
    await store.close();
  };
  try {
    const registry = s.metrics ? createMetricsRegistry() : null;
    const metrics = registry ? new TrackerMetrics(registry) : undefined;
    tracker = await startTracker({ store, config, log, workers: s.workers, metrics });
    if (registry && s.metrics) metricsServer = await startMetricsServer({ registry, host: s.metrics.host, port: s.metrics.port, log });
    if (s.pidfile) await writePidFile(s.pidfile);
    // Once listening: ports below 1024 and the pid file's directory may need root.
    if (becomeUser) {
      switchUser(becomeUser);
      log.info({ user: becomeUser.name, uid: becomeUser.uid, gid: becomeUser.gid, groups: becomeUser.groups }, 'switched user');
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  // Handlers go in before the line is printed: whoever waits for the line may signal at once.
  stopOnSignals('mogilefsd', log, stop);
  const m = metricsServer ? ` metrics=${metricsServer.host}:${metricsServer.port}` : '';
  process.stdout.write(`mogilefsd listening ${tracker.host}:${tracker.port} db=${store.engine}${m}\n`);
  return tracker;
}

/** The process entry: never rejects (errors are printed and set the exit code). */
export function main(argv: string[]): Promise<Tracker | null> {
  return runDaemonMain('mogilefsd', () => runMogilefsd(argv));
}

if (require.main === module) void main(process.argv);
