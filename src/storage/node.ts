/**
 * startStorageNode: one mogstored — the HTTP server over a docroot of
 * dev<N>/ directories, the usage file writer and the side channel — with one
 * close() that stops all three.
 */
import type http from 'node:http';
import type net from 'node:net';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createLogger, type Logger } from '../common/log';
import { createHttpServer, type HttpTimeouts } from './http';
import { UsageWriter } from './usage';
import { IoStatReporter } from './iostat';
import { createSideChannel } from './sidechannel';
import { sweepTempFiles } from './sweep';
import type { StorageMetrics } from './metrics';

export interface StorageNodeOptions {
  /** Directory holding dev<N>/ subdirectories (original default /var/mogdata). */
  docroot: string;
  /** Address both listeners bind to (default 127.0.0.1). */
  host?: string;
  /** HTTP port (default 7500; 0 = ephemeral). */
  httpPort?: number;
  /** Side channel port (default 7501; 0 = ephemeral; null = no side channel). */
  mgmtPort?: number | null;
  /** How often usage files are rewritten (default 10 s, as the original). */
  usageIntervalMs?: number;
  /** fsync each uploaded file before it becomes visible (default false). */
  fsync?: boolean;
  /** Cut-offs for slow or stalled clients, over DEFAULT_HTTP_TIMEOUTS. */
  timeouts?: Partial<HttpTimeouts>;
  log?: Logger;
  /** Prometheus metrics to feed (one StorageMetrics per node); the caller serves its registry. */
  metrics?: StorageMetrics;
}

export interface StorageNode {
  readonly host: string;
  readonly httpPort: number;
  /** null when the side channel is off. */
  readonly mgmtPort: number | null;
  readonly docroot: string;
  close(): Promise<void>;
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

export async function startStorageNode(opts: StorageNodeOptions): Promise<StorageNode> {
  const docroot = path.resolve(opts.docroot);
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? createLogger('mogstored');
  const st = await stat(docroot).catch(() => null);
  if (!st?.isDirectory()) {
    throw new Error(`docroot ${docroot} is not a directory: create it with dev<N> subdirectories, one per device`);
  }

  const usage = new UsageWriter(docroot, opts.usageIntervalMs ?? 10_000, log);
  const iostat = new IoStatReporter(docroot);
  const sidechannel = { port: null as number | null };
  const web = createHttpServer(docroot, log, { fsync: opts.fsync ?? false }, opts.metrics, sidechannel, opts.timeouts);
  const httpServer: http.Server = web.server;
  const sockets = new Set<net.Socket>();
  const mgmt = opts.mgmtPort === null ? null : createSideChannel(docroot, iostat, log);
  mgmt?.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  let closed = false;
  const stopSweep = new AbortController();
  let sweeping: Promise<void> = Promise.resolve();
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopSweep.abort();
    iostat.stop();
    const done = Promise.all([closeServer(httpServer), mgmt ? closeServer(mgmt) : Promise.resolve()]);
    httpServer.closeAllConnections();
    for (const s of sockets) s.destroy();
    await done;
    await web.idle();
    await usage.stop();
    await sweeping;
  };

  try {
    await usage.start();
    const httpPort = await listen(httpServer, opts.httpPort ?? 7500, host);
    const mgmtPort = mgmt ? await listen(mgmt, opts.mgmtPort ?? 7501, host) : null;
    sidechannel.port = mgmtPort;
    log.info({ docroot, host, httpPort, mgmtPort }, 'mogstored listening');
    // After listening: the walk can take minutes on a big device (sweep.ts says why this is safe).
    sweeping = sweepTempFiles(docroot, log, stopSweep.signal).then(
      (r) => {
        if (r.removed > 0 || r.kept > 0) log.info(r, 'start-up sweep: removed the temp files a crash left behind');
      },
      (err: unknown) => log.warn({ err }, 'temp file sweep failed; leftovers stay until the next start'),
    );
    return { host, httpPort, mgmtPort, docroot, close };
  } catch (err) {
    await close();
    throw err;
  }
}
