/**
 * The storage node's HTTP server (port 7500 by default): routes each method
 * to its handler and turns failures into status codes. Keep-alive is on;
 * request time is unbounded because multi-GB uploads are legitimate.
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
  return 'internal storage node error; see the mogstored log';
}

export interface StorageHttpServer {
  server: http.Server;
  /** Resolves when every request handler has finished (temp files cleaned up). */
  idle(): Promise<void>;
}

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
): StorageHttpServer {
  const inflight = new Set<Promise<void>>();
  const server = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
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
  server.keepAliveTimeout = 30_000;
  metrics?.attach(server, docroot, log);
  return { server, idle: async () => void (await Promise.all([...inflight])) };
}

async function route(docroot: string, req: http.IncomingMessage, res: http.ServerResponse, putOpts: PutOptions): Promise<void> {
  switch (req.method) {
    case 'GET':
    case 'HEAD':
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
