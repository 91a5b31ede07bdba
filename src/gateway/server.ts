/**
 * startGateway: the HTTP server. Each request is routed to a domain and key
 * prefix, its path turned into a key by the names the mount shows, and
 * answered from one cached tracker lookup plus (for GET) one storage read.
 * The status page lives under `/.mogfs-dir/`, a name no key is ever shown
 * as (it is the reserved marker name), so it can never hide a file.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAgent, MogError, MogileFS, MogileFSAdmin, TrackerClient } from '../client';
import { createLogger } from '../common/log';
import type { Logger } from '../common/log';
import { RecentErrors, recordingLogger } from '../common/recent';
import { Keyspace, Locator, MARKER, parsePath } from '../vfs';
import { BodyCache } from './bodycache';
import { DeadNodes } from './nodes';
import { statusPage } from './page';
import { matchRoute, sortRoutes, urlSegments } from './routes';
import type { Route } from './routes';
import { sendError, serveFile } from './serve';
import type { ServeOptions } from './serve';
import { StatusSource } from './status';
import { deleteFile, putFile } from './write';

/** Where the status page is: `/.mogfs-dir/status` (HTML) and `/.mogfs-dir/status.json`. */
export const STATUS_DIR = `/${MARKER}/`;

export interface GatewayOptions {
  trackers: string[];
  /** URL prefixes and what they serve; empty: one route at '/' from `domain`/`prefix` (or every domain). */
  routes: Route[];
  /** Address to listen on (default 127.0.0.1) and port (default 7080; 0 for any free one). */
  host?: string;
  port?: number;
  /** How long a lookup is trusted, ms (default 1000, as the mount's --cache-time). */
  cacheMs?: number;
  /** Cache-Control sent with files (none by default). */
  cacheControl?: string;
  /** nginx mode: the internal location for X-Accel-Redirect (e.g. '/_mogfs_internal'). */
  xAccel?: string;
  /**
   * Memory for small files kept by fid, bytes (default 64 MiB; 0: none),
   * and the largest file kept (default 256 KiB).
   */
  memoryCacheBytes?: number;
  memoryCacheFileBytes?: number;
  /** Serve the status page (default true). */
  status?: boolean;
  /** Tracker request timeout, ms. */
  timeoutMs?: number;
  log?: Logger;
}

export interface Gateway {
  /** "http://host:port" (no trailing slash). */
  url: string;
  host: string;
  port: number;
  /** Whether the tracker has our extensions (one round trip per lookup, mtimes). */
  extensions: boolean;
  close(): Promise<void>;
}

const ALLOW = 'GET, HEAD, PUT, DELETE';

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const recent = new RecentErrors();
  const log = recordingLogger(opts.log ?? createLogger('gateway'), recent, 'gateway');
  const tracker = new TrackerClient({ trackers: opts.trackers, timeoutMs: opts.timeoutMs ?? 10_000, poolSize: 16 });
  const dispatcher = createAgent(30_000);
  const clients: MogileFS[] = [];
  const close = async (): Promise<void> => {
    for (const c of clients) await c.close().catch(() => undefined);
    tracker.close();
    await dispatcher.close().catch(() => undefined);
  };
  try {
    return await listen(opts, { log, recent, tracker, dispatcher, clients, close });
  } catch (e) {
    await close();
    throw e;
  }
}

interface Parts {
  log: Logger;
  recent: RecentErrors;
  tracker: TrackerClient;
  dispatcher: ReturnType<typeof createAgent>;
  clients: MogileFS[];
  close(): Promise<void>;
}

async function listen(opts: GatewayOptions, p: Parts): Promise<Gateway> {
  const { log, tracker } = p;
  const extensions = await Keyspace.probe(tracker);
  const cacheMs = opts.cacheMs ?? 1000;
  const admin = new MogileFSAdmin({ tracker });
  const routes = sortRoutes(opts.routes.length > 0 ? opts.routes : [{ at: [], domain: null, keyPrefix: '', writable: false }]);
  let known = new Set((await admin.getDomains()).map((d) => d.name));
  for (const r of routes) {
    if (r.domain !== null && !known.has(r.domain)) {
      throw new Error(`domain "${r.domain}" does not exist: create it with mogadm domain add ${r.domain}, or fix --domain/--route`);
    }
  }
  let domainsAt = Date.now();

  const locators = new Map<string, Locator>();
  const locatorFor = (domain: string, keyPrefix: string): Locator => {
    const id = `${domain}\0${keyPrefix}`;
    let l = locators.get(id);
    if (!l) {
      const client = new MogileFS({ domain, tracker, dispatcher: p.dispatcher });
      p.clients.push(client);
      l = new Locator(client, keyPrefix, extensions, cacheMs);
      locators.set(id, l);
    }
    return l;
  };
  /** Every-domain routes: only real domains get a locator, so random first segments cannot grow the map. */
  let refreshing: Promise<void> | null = null;
  const domainExists = async (name: string): Promise<boolean> => {
    // The list is trusted for the cache time (at least a second), for names it has and names it lacks alike.
    if (Date.now() - domainsAt >= Math.max(cacheMs, 1000)) {
      refreshing ??= admin.getDomains().then((ds) => {
        known = new Set(ds.map((d) => d.name));
        domainsAt = Date.now();
      }).finally(() => {
        refreshing = null;
      });
      await refreshing;
    }
    return known.has(name);
  };

  const counters = { startedAt: Date.now(), requests: 0 };
  const status = opts.status === false ? null : new StatusSource(tracker, p.recent, counters);
  const deadNodes = new DeadNodes();
  const serveOpts: ServeOptions = {
    cacheControl: opts.cacheControl,
    xAccel: opts.xAccel?.replace(/\/+$/, ''),
    deadNodes,
    bodies: new BodyCache(opts.memoryCacheBytes ?? 64 * 1024 * 1024, opts.memoryCacheFileBytes ?? 256 * 1024),
    onReplicaFailure: (url, err) => log.warn({ url, err: err instanceof Error ? err.message : String(err) }, `replica ${url} failed; trying the next`),
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    counters.requests++;
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const method = req.method ?? 'GET';
    if (status && rawPath.startsWith(STATUS_DIR)) return serveStatus(req, res, rawPath.slice(STATUS_DIR.length), status);
    if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT' && method !== 'DELETE') {
      return sendError(res, 405, `${method} is not supported here`, { Allow: ALLOW });
    }
    const segs = urlSegments(rawPath);
    if (segs === null) return sendError(res, 400, 'bad path: it must be percent-encoded UTF-8 without "." or ".." segments or an encoded "/"');
    const routed = matchRoute(routes, segs);
    if (!routed) return sendError(res, 404, 'no route serves this URL');
    let domain = routed.domain;
    if (domain !== null && routed.route.domain === null) {
      // The domain segment is shown as the mount shows a domain folder (escaped if it must be).
      const ref = parsePath(`/${domain}`);
      domain = ref && ref.segments.length === 1 && !ref.fileForm ? ref.segments[0] : null;
      if (domain !== null && !(await domainExists(domain))) domain = null;
    }
    if (domain === null) return sendError(res, 404, 'no such domain');
    const writing = method === 'PUT' || method === 'DELETE';
    if (writing && !routed.route.writable) {
      return sendError(res, 405, `${method} is not enabled here (start the gateway with --writable or a ",rw" route)`, { Allow: 'GET, HEAD' });
    }
    const locator = locatorFor(domain, routed.route.keyPrefix);
    const path = `/${routed.rest.join('/')}`;
    const key = locator.keyOf(path);
    if (key === null) return sendError(res, 404, 'no file can have this name');
    if (method === 'PUT') return putFile(req, res, locator, path, key);
    if (method === 'DELETE') return deleteFile(req, res, locator, path, key);
    const f = await locator.locate(path);
    if (!f) return sendError(res, 404, 'no such file');
    return serveFile(req, res, f, locator, serveOpts);
  };

  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      const { status: code, message } = errorStatus(e);
      if (code >= 500) log.error({ err: message, url: req.url, method: req.method }, `request failed: ${message}`);
      sendError(res, code, message);
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`the gateway cannot listen on ${host}:${opts.port ?? 7080}: ${err.message}`)));
    server.listen(opts.port ?? 7080, host, () => resolve());
  });
  server.on('error', (err) => log.error({ err }, 'gateway listener error'));
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    extensions,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await p.close();
    },
  };
}

function errorStatus(e: unknown): { status: number; message: string } {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof MogError) {
    if (e.code === 'unreg_domain' || e.code === 'no_domain' || e.code === 'domain_not_found') return { status: 404, message: 'no such domain' };
    if (e.code === 'no_key' || e.code === 'unknown_key') return { status: 404, message: 'no such file' };
    if (['no_tracker', 'tracker_timeout', 'tracker_io', 'no_devices'].includes(e.code)) return { status: 503, message };
    if (e.code === 'key_too_long') return { status: 414, message };
  }
  return { status: 502, message };
}

async function serveStatus(req: http.IncomingMessage, res: http.ServerResponse, what: string, status: StatusSource): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'the status page is read-only', { Allow: 'GET, HEAD' });
  if (what !== 'status' && what !== 'status.json') return sendError(res, 404, 'the status page is /.mogfs-dir/status');
  const data = await status.get();
  const json = what === 'status.json';
  const body = Buffer.from(json ? JSON.stringify(data) : statusPage(data));
  res.writeHead(200, {
    'Content-Type': json ? 'application/json' : 'text/html; charset=utf-8',
    'Content-Length': String(body.length),
    'Cache-Control': 'no-store',
    // The page needs nothing from elsewhere; say so, so nothing injected can load either.
    ...(json ? {} : { 'Content-Security-Policy': "default-src 'none'; connect-src 'self'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'" }),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
