/**
 * Gateway test helpers: an in-process gateway over a test cluster, and raw
 * HTTP requests (node:http, so a path like `/../x` goes out exactly as
 * written, never normalised the way fetch would).
 */
import http from 'node:http';
import { parseRoute, startGateway } from '../../src/gateway';
import type { Gateway, GatewayOptions } from '../../src/gateway';
import { createLogger } from '../../src/common/log';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request to `base` (http://host:port) for `path`, as written. */
export function request(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The URL path of a name as the mount shows it ('a/%%/b'): each component percent-encoded. */
export function urlOf(shown: string): string {
  return '/' + shown.split('/').map((c) => encodeURIComponent(c)).join('/');
}

/** A gateway on a free port; `routes` as --route specs. */
export function gatewayOn(trackers: string[], routes: string[], opts: Partial<GatewayOptions> & { writable?: boolean } = {}): Promise<Gateway> {
  return startGateway({
    trackers,
    routes: routes.map((r) => parseRoute(r, opts.writable === true)),
    port: 0,
    cacheMs: 0,
    log: createLogger('test-gateway', 'silent'),
    ...opts,
  });
}
