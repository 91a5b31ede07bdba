/**
 * `startDav`: an HTTP(S) server answering WebDAV over a Vfs. Each method is
 * one function in methods/; this file authenticates, routes, and turns
 * errors into statuses. Anything that writes is refused to read-only users.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../common/log';
import { errnoOf, normalizeBase, openVfs } from '../vfs';
import type { VfsOptions } from '../vfs';
import { Authenticator, readUsers } from './auth';
import { statusOf } from './errors';
import { MemoryLocks, TrackerLocks } from './locks';
import { TrackerClient } from '../client';
import { get } from './methods/get';
import { lock, unlock } from './methods/lock';
import { propfind } from './methods/propfind';
import { proppatch } from './methods/proppatch';
import { put } from './methods/put';
import { copyOrMove, del, mkcol } from './methods/tree';
import { DavRequest, HttpError } from './request';
import type { DavEnv } from './request';

export interface DavOptions extends Omit<VfsOptions, 'log'> {
  host?: string;
  port?: number;
  /** A users file (`mogfs dav-user`): without valid credentials nothing is read or written. */
  usersFile?: string;
  /** With a users file: requests without credentials may read. */
  anonymousRead?: boolean;
  /** PEM files: serve HTTPS. */
  tlsCert?: string;
  tlsKey?: string;
  /** Longest lock timeout granted, seconds (default 3600). */
  maxLockSec?: number;
  log: Logger;
}

export interface DavServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Method = (r: DavRequest) => Promise<void>;

const METHODS: Record<string, Method> = {
  GET: get,
  HEAD: get,
  PUT: put,
  DELETE: del,
  MKCOL: mkcol,
  COPY: (r) => copyOrMove(r, false),
  MOVE: (r) => copyOrMove(r, true),
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  LOCK: lock,
  UNLOCK: unlock,
  OPTIONS: async (r) => {
    await r.drain();
    r.res.setHeader('DAV', '1, 2');
    r.res.setHeader('MS-Author-Via', 'DAV');
    r.res.setHeader('Allow', ALLOW);
    r.send(200);
  },
};
const ALLOW = Object.keys(METHODS).join(', ');
const WRITES = new Set(['PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPPATCH', 'LOCK', 'UNLOCK']);

export async function startDav(opts: DavOptions): Promise<DavServer> {
  const auth = opts.usersFile ? new Authenticator(await readUsers(opts.usersFile), opts.anonymousRead === true) : null;
  const tls = opts.tlsCert && opts.tlsKey ? { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey) } : null;
  if ((opts.tlsCert ? 1 : 0) + (opts.tlsKey ? 1 : 0) === 1) throw new Error('TLS needs both --tls-cert and --tls-key');
  const opened = await openVfs({ ...opts, log: opts.log });
  const tracker = new TrackerClient({ trackers: opts.trackers, timeoutMs: opts.timeoutMs ?? 10_000 });
  // Locks every bridge process honours live in the tracker's database; a stock tracker has no table for them.
  const locks = opened.extensions ? new TrackerLocks(tracker, opts.domain, normalizeBase(opts.prefix)) : new MemoryLocks();
  if (!opened.extensions) opts.log.warn('stock tracker: WebDAV locks hold in this process only');
  const env: DavEnv = { vfs: opened.vfs, locks, log: opts.log, maxLockSec: opts.maxLockSec ?? 3600 };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void serve(env, auth, req, res);
  };
  const server = tls ? https.createServer(tls, handle) : http.createServer(handle);
  // Large uploads take as long as they take; idle keep-alive connections do not linger.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
  } catch (e) {
    tracker.close();
    await opened.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  return {
    url: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      tracker.close();
      await opened.close();
    },
  };
}

async function serve(env: DavEnv, auth: Authenticator | null, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  let r: DavRequest | null = null;
  try {
    const who = auth ? await auth.check(req.headers.authorization) : { user: '', readOnly: false };
    if (!who) return challenge(res, req);
    r = new DavRequest(env, req, res, who.user);
    const fn = METHODS[method];
    if (!fn) throw new HttpError(405, `${method} is not a WebDAV method this server knows`);
    if (who.readOnly && WRITES.has(method)) {
      // Anonymous readers are asked to log in; a read-only user is refused.
      if (who.user === '') return challenge(res, req);
      throw new HttpError(403, `${who.user} may only read`);
    }
    await fn(r);
  } catch (e) {
    fail(env, req, res, e);
  }
}

function challenge(res: http.ServerResponse, req: http.IncomingMessage): void {
  res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="mogfs", charset="UTF-8"', 'Content-Length': 0 });
  res.end();
  req.resume();
}

function fail(env: DavEnv, req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void {
  const status = e instanceof HttpError ? e.status : statusOf(e);
  if (status >= 500) env.log.warn({ method: req.method, url: req.url, errno: errnoOf(e), err: (e as Error).message }, 'WebDAV request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `${(e as Error).message ?? String(e)}\n`;
  const headers: Record<string, string | number> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) };
  if (status === 405) headers.Allow = ALLOW;
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : text);
  // Whatever of the body is still coming is read and dropped, so the connection stays usable.
  req.resume();
}
