/**
 * `mogfs gateway`: files by short URL (`http://host:port/images/aqua.jpg` is
 * the file the mount shows as images/aqua.jpg), and the status page at
 * /.mogfs-dir/status, in the foreground. Ctrl-C or SIGTERM stops it.
 */
import type { Command } from 'commander';
import { createLogger } from '../common/log';
import { defaultRoute, parseRoute, RouteError, startGateway as startGatewayServer } from '../gateway';
import type { Gateway, Route } from '../gateway';
import { parseSize } from './mount';
import { parseServeFlags, stopOnSignals, withServeOptions } from './serve';
import type { ServeFlags } from './serve';
import { loadConfig, requireTrackers, UsageError, withClientOptions } from './tools/common';

export interface GatewayFlags extends ServeFlags {
  trackers?: string;
  domain?: string;
  conf?: string;
  route: string[];
  writable?: boolean;
  cacheControl?: string;
  xAccel?: string;
  memoryCache: string;
  status: boolean;
}

/** What `mogfs up` passes: the CLI flags, parsed (trackers as "host:port,...", cacheTime in seconds). */
export type GatewayStartOptions = Omit<Partial<GatewayFlags>, 'port' | 'cacheTime'> & { port?: number; cacheTime?: number };

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerGateway(program: Command): void {
  const cmd = withServeOptions(program
    .command('gateway')
    .description('serve files by short URL (GET/HEAD/Range, optional PUT/DELETE) and the status page, in the foreground'), 7080, 'serve')
    .option('--route <spec>', 'URLPREFIX=DOMAIN[:KEYPREFIX][,rw|,ro], repeatable; DOMAIN * is every domain (default: / from --domain/--prefix)', collect, [])
    .option('--writable', 'allow PUT and DELETE (on every route without ,ro)')
    .option('--cache-control <value>', 'Cache-Control header sent with files, e.g. "public, max-age=86400"')
    .option('--memory-cache <size>', 'memory for small files (up to 256K each) kept by fid, e.g. 64M; 0 for none', '64M')
    .option('--x-accel <location>', 'nginx mode: answer with X-Accel-Redirect into this internal location (e.g. /_mogfs_internal)')
    .option('--no-status', 'do not serve the status page');
  withClientOptions(cmd);
  cmd.action(async (flags: GatewayFlags) => {
    const { port, cacheSeconds } = parseServeFlags(flags);
    const gw = await startGateway({ ...flags, port, cacheTime: cacheSeconds });
    stopOnSignals(() => gw.close());
    const note = gw.extensions ? '' : ' (stock tracker: two lookups per file, no mtimes)';
    process.stdout.write(`mogfs gateway at ${gw.url}/ status ${gw.url}/.mogfs-dir/status${note}\n`);
  });
}

/**
 * Starts a gateway from CLI-style options (trackers as "host:port,..."), as
 * `mogfs gateway` does; `mogfs up` calls this too.
 */
export async function startGateway(o: GatewayStartOptions): Promise<Gateway> {
  const cfg = await loadConfig({ trackers: o.trackers, conf: o.conf });
  let routes: Route[];
  try {
    routes = (o.route ?? []).map((r) => parseRoute(r, o.writable === true));
    if (routes.length === 0) routes = [defaultRoute(o.domain, o.prefix, o.writable === true)];
    else if (o.domain || o.prefix) throw new RouteError('give either --route or --domain/--prefix, not both');
  } catch (e) {
    if (e instanceof RouteError) throw new UsageError(e.message);
    throw e;
  }
  if (o.xAccel !== undefined && !/^\/[^\s?#]*$/.test(o.xAccel)) throw new UsageError(`--x-accel must be a location path like /_mogfs_internal, got ${o.xAccel}`);
  return startGatewayServer({
    trackers: requireTrackers(cfg),
    routes,
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 7080,
    cacheMs: (o.cacheTime ?? 1) * 1000,
    cacheControl: o.cacheControl,
    memoryCacheBytes: o.memoryCache === undefined ? undefined : parseSize(o.memoryCache),
    xAccel: o.xAccel,
    status: o.status !== false,
    log: createLogger('gateway'),
  });
}
