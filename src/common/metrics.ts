/**
 * Prometheus metrics plumbing shared by the tracker and the storage node:
 * a Registry per daemon instance (several may run in one test process, so
 * nothing goes into prom-client's global registry) and the small HTTP server
 * that serves it on a port of its own, away from the MogileFS ports.
 */
import http from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './log';

export { Registry };

/** A fresh registry holding the standard process and Node.js metrics. */
export function createMetricsRegistry(labels?: Record<string, string>): Registry {
  const registry = new Registry();
  if (labels) registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  registry: Registry;
  host: string;
  /** 0 = ephemeral. */
  port: number;
  log: Logger;
}

/** Serves `GET /metrics` (and `/` for people poking at it with curl). */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, log } = opts;
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (url !== '/metrics' && url !== '/')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        log.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('collecting metrics failed; see the daemon log\n');
      },
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`cannot listen for metrics on ${opts.host}:${opts.port}: ${err.message}`));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'metrics listener error'));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  log.info({ host: opts.host, port }, 'metrics listening');
  let closed: Promise<void> | null = null;
  return {
    host: opts.host,
    port,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
