/**
 * The storage node's HTTP server (port 7500 by default): routes each method
 * to its handler and turns failures into status codes. Keep-alive is on.
 * A whole request's time is unbounded because multi-GB uploads are
 * legitimate; what is bounded is waiting for headers, a connection where no
 * byte moves (a stalled upload or download) and an idle keep-alive
 * connection, so a stalled client cannot hold a descriptor and a temp file
 * for ever.
 */
import http from 'node:http';
import type { Logger } from '../common/log';
import { SIDECHANNEL_HEADER } from '../common/headers';
import { PathError } from './paths';
import { handleGet } from './get';
import { handlePut, type PutOptions } from './put';
import { handleDelete, handleMkcol } from './ops';
import type { StorageMetrics } from './metrics';

const ALLOW = 'GET, HEAD, PUT, DELETE, MKCOL, OPTIONS';

/** Map an error to the status a client should see. */
export function statusFor(err: unknown): number {
  if (err instanceof PathError) return err.status;
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 507;
    case 'ENOENT':
      return 404;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 403;
    case 'EISDIR':
    case 'ENOTDIR':
    case 'EEXIST':
      return 409;
    case 'ENAMETOOLONG':
      return 414;
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'ECONNRESET':
      return 400;
    default:
      return 500;
  }
}

function messageFor(status: number, err: unknown): string {
  if (err instanceof PathError) return err.message;
  if (status === 507) return 'device is full: free space on it or mark it readonly';
  if (status === 404) return 'not found';
  if (status === 403) return 'permission denied on the storage node';
  if (status === 409) return 'conflicts with an existing file or directory';
  if (status === 400) return 'request body was cut short';
  if (status === 414) return 'path is too long for the filesystem of the device';
  return 'internal storage node error; see the mogstored log';
}

export interface StorageHttpServer {
  server: http.Server;
  /** Resolves when every request handler has finished (temp files cleaned up). */
  idle(): Promise<void>;
}

/** How long a slow or stalled client may hold a connection, in ms. */
export interface HttpTimeouts {
  /** From connecting (or the previous answer) until the request's headers have all arrived. */
  headersMs: number;
  /** No byte moving either way while a request is being read or answered: a stalled upload or download. */
  idleMs: number;
  /** An idle keep-alive connection between requests. */
  keepAliveMs: number;
}

/** Perlbal's defaults are 30 s for all three; a stalled transfer gets a minute, as slow links are real. */
export const DEFAULT_HTTP_TIMEOUTS: Readonly<HttpTimeouts> = { headersMs: 30_000, idleMs: 60_000, keepAliveMs: 30_000 };

/** Where this node's side channel listens, once known (null: none). */
export interface SideChannelInfo {
  port: number | null;
}


export function createHttpServer(
  docroot: string,
  log: Logger,
  putOpts: PutOptions,
  metrics?: StorageMetrics,
  sidechannel?: SideChannelInfo,
  timeouts: Partial<HttpTimeouts> = {},
): StorageHttpServer {
  const t: HttpTimeouts = { ...DEFAULT_HTTP_TIMEOUTS, ...timeouts };
  const inflight = new Set<Promise<void>>();
  const server = http.createServer({
    keepAlive: true,
    requestTimeout: 0,
    headersTimeout: t.headersMs,
    // Node checks the headers timeout on this period only (30 s by default).
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(t.headersMs / 4))),
  }, (req, res) => {
    if (sidechannel?.port && req.method === 'GET' && req.url?.endsWith('/usage')) res.setHeader(SIDECHANNEL_HEADER, sidechannel.port);
    const job = route(docroot, req, res, putOpts).catch((err: unknown) => {
      const status = statusFor(err);
      if (status >= 500) log.error({ err, method: req.method, url: req.url }, 'request failed');
      else log.debug({ method: req.method, url: req.url, status, msg: (err as Error).message }, 'request refused');
      if (res.headersSent) {
        // Part of a body is already out; only a broken connection tells the truth now.
        res.destroy();
        return;
      }
      const body = messageFor(status, err) + '\n';
      res.statusCode = status;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(body));
      // An unread request body would otherwise be parsed as the next request.
      if (!req.complete) res.setHeader('Connection', 'close');
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    inflight.add(job);
    void job.finally(() => {
      inflight.delete(job);
      metrics?.observeRequest(req.method, res.statusCode);
    });
  });
  server.keepAliveTimeout = t.keepAliveMs;
  // No byte either way for idleMs while a request is read or answered: hang
  // up. A PUT's body stream then fails and its temp file is removed.
  server.setTimeout(t.idleMs, (socket) => {
    log.debug({ remote: socket.remoteAddress, idleMs: t.idleMs }, 'closing an idle or stalled connection');
    socket.destroy();
  });
  metrics?.attach(server, docroot, log);
  return { server, idle: async () => void (await Promise.all([...inflight])) };
}

/** `/` (a query aside, and however many slashes). */
function isRoot(url: string | undefined): boolean {
  return /^\/+(?:\?.*)?$/.test(url ?? '');
}

/**
 * Perlbal's answer for a directory with dirindexing off. `mogadm check`
 * counts a host as up only when its root answers 2xx.
 */
function answerRoot(req: http.IncomingMessage, res: http.ServerResponse): void {
  const body = '<h1>200 - OK</h1>\nDirectory listing disabled';
  res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function route(docroot: string, req: http.IncomingMessage, res: http.ServerResponse, putOpts: PutOptions): Promise<void> {
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      if (isRoot(req.url)) return answerRoot(req, res);
      return handleGet(docroot, req, res);
    case 'PUT':
      return handlePut(docroot, req, res, putOpts);
    case 'DELETE':
      return handleDelete(docroot, req, res);
    case 'MKCOL':
      return handleMkcol(docroot, req, res);
    case 'OPTIONS':
      res.statusCode = 200;
      res.setHeader('Allow', ALLOW);
      res.setHeader('Content-Length', 0);
      res.end();
      return;
    default:
      res.setHeader('Allow', ALLOW);
      throw new PathError(405, `method ${req.method ?? ''} is not supported by mogstored`);
  }
}
