/**
 * mogstored: the storage node as a process. Flags as the original's:
 *   mogstored --docroot DIR --httplisten HOST:PORT --mgmtlisten HOST:PORT
 * (or the same keys in a `key = value` config file given with --config).
 * Prints one line with the bound ports on stdout; stops on SIGTERM/SIGINT.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { startStorageNode, type StorageNode } from '../storage';
import { createLogger } from '../common/log';

interface Listen {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[v6]:PORT` or a bare `PORT` (host then defaults to 127.0.0.1). */
export function parseListen(value: string, flag: string): Listen {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${flag} must look like HOST:PORT (for example 127.0.0.1:7500), got "${value}"`);
  }
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** The original's mogstored.conf: `key = value` lines, # comments. */
async function readConfig(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const m = /^\s*([\w-]+)\s*=\s*(.*?)\s*$/.exec(line.replace(/#.*/, ''));
    if (m) out[m[1].toLowerCase()] = m[2];
  }
  return out;
}

/** Parse flags, start the node, install signal handlers; rejects on bad flags or a failed start. */
export async function runMogstored(argv: string[]): Promise<StorageNode> {
  const program = new Command('mogstored')
    .description('MogileFS storage node: HTTP over dev<N>/ directories, usage files and the side channel')
    .option('--docroot <dir>', 'directory holding the dev<N> device directories (default /var/mogdata)')
    .option('--httplisten <host:port>', 'HTTP listen address (default 127.0.0.1:7500)')
    .option('--mgmtlisten <host:port>', 'side channel listen address (default 127.0.0.1:7501)')
    .option('--no-mgmt', 'do not open the side channel')
    .option('--usage-interval <seconds>', 'seconds between usage file rewrites', '10')
    .option('--fsync', 'fsync each uploaded file before it becomes visible')
    .option('-c, --config <file>', 'read docroot/httplisten/mgmtlisten from a mogstored.conf')
    .exitOverride();
  program.parse(argv);
  const o = program.opts<{
    docroot?: string;
    httplisten?: string;
    mgmtlisten?: string;
    mgmt: boolean;
    usageInterval: string;
    fsync?: boolean;
    config?: string;
  }>();
  const conf = o.config ? await readConfig(o.config) : {};
  const http = parseListen(o.httplisten ?? conf.httplisten ?? '127.0.0.1:7500', '--httplisten');
  const mgmt = o.mgmt ? parseListen(o.mgmtlisten ?? conf.mgmtlisten ?? `${http.host}:7501`, '--mgmtlisten') : null;
  if (mgmt && mgmt.host !== http.host) {
    throw new Error('--httplisten and --mgmtlisten must use the same host address');
  }
  const interval = Number(o.usageInterval);
  if (!(interval > 0)) throw new Error('--usage-interval must be a positive number of seconds');

  const log = createLogger('mogstored');
  const node = await startStorageNode({
    docroot: o.docroot ?? conf.docroot ?? '/var/mogdata',
    host: http.host,
    httpPort: http.port,
    mgmtPort: mgmt ? mgmt.port : null,
    usageIntervalMs: interval * 1000,
    fsync: o.fsync ?? false,
    log,
  });
  const stop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'mogstored stopping');
    // If something still holds the loop open after close, don't hang forever.
    setTimeout(() => process.exit(0), 5000).unref();
    node.close().then(
      () => {
        process.exitCode = 0;
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exitCode = 1;
      },
    );
  };
  // Handlers go in before the line is printed: whoever waits for the line
  // may signal at once.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(
    `mogstored listening http=${node.host}:${node.httpPort} mgmt=${node.mgmtPort === null ? 'off' : `${node.host}:${node.mgmtPort}`} docroot=${node.docroot}\n`,
  );
  return node;
}

/**
 * The process entry: never rejects (errors are printed and set the exit
 * code), so the bin/ launcher can stay one line. Resolves to the running
 * node, or null when it could not start.
 */
export async function main(argv: string[]): Promise<StorageNode | null> {
  try {
    return await runMogstored(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    // commander already printed help and usage errors itself.
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      process.exitCode = e.exitCode ?? 1;
    } else {
      process.stderr.write(`mogstored: ${e.message ?? String(err)}\n`);
      process.exitCode = 1;
    }
    return null;
  }
}

if (require.main === module) void main(process.argv);
