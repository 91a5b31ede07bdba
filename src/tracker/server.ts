/**
 * startTracker: the mogilefsd TCP server over a MetadataStore, plus (by
 * default) this tracker's background workers. Several trackers may share one
 * database; nothing here keeps state another tracker would need.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createLogger } from '../common/log';
import type { Logger } from '../common/log';
import type { MetadataStore } from '../store';
import { handleConnection } from './connection';
import type { TrackerConfig, TrackerContext } from './context';
import { createContext } from './layout';
import { DirectoryMaker } from './vivify';
import { startWorkers } from './workers';
import type { WorkerOptions, WorkersHandle } from './workers';
import type { TrackerMetrics } from './metrics';

export interface TrackerOptions {
  store: MetadataStore;
  config?: Partial<TrackerConfig>;
  log?: Logger;
  /** Run the background workers (monitor, replicate, delete...); default true. */
  workers?: boolean;
  /** Worker tunables (backoff schedules, poll and reaper intervals); defaults suit production. */
  workerOptions?: WorkerOptions;
  /** Prometheus metrics to feed (one TrackerMetrics per tracker); the caller serves its registry. */
  metrics?: TrackerMetrics;
}

export interface Tracker {
  readonly port: number;
  readonly host: string;
  readonly ctx: TrackerContext;
  close(): Promise<void>;
}

export async function startTracker(opts: TrackerOptions): Promise<Tracker> {
  const log = opts.log ?? createLogger('mogilefsd');
  const ctx = createContext(opts.store, opts.config ?? {}, log);
  const closing = new AbortController();
  const stats = { started: Date.now(), processing: 0, queries: 0 };
  opts.metrics?.attach(ctx, stats);

  // Started once we listen, so a failed listen leaves nothing running.
  let workers: WorkersHandle | null = null;

  // The original's wait_for_monitor: before the first monitor round nothing is
  // known to be writable, so create_open waits (boundedly) for that round.
  const monitorWaitMs = ctx.config.monitorIntervalMs + ctx.config.nodeTimeoutMs + 1000;
  const waitForMonitor = async (): Promise<void> => {
    if (!workers || ctx.observed.size > 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, monitorWaitMs);
      timer.unref();
    });
    try {
      await Promise.race([workers.monitorReady, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const dirs = new DirectoryMaker(ctx.config.nodeTimeoutMs);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    handleConnection(socket, { ctx, waitForMonitor, closing: closing.signal, dirs, stats, metrics: opts.metrics });
  });
  server.on('error', (err) => log.error({ err }, 'tracker listener error'));

  const host = ctx.config.host;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`mogilefsd cannot listen on ${host}:${ctx.config.port}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(ctx.config.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  if (opts.workers !== false) {
    // The reaper must look at least as often as the tempfile timeout it
    // enforces, or a short tempfileTimeoutSec is not honoured for a minute.
    const reaperIntervalMs = Math.min(60_000, Math.max(1000, ctx.config.tempfileTimeoutSec * 500));
    const w = startWorkers(ctx, { reaperIntervalMs, ...opts.workerOptions });
    workers = w;
    ctx.setWake((name) => w.wake(name));
    ctx.replicator = w.replicator;
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : ctx.config.port;
  log.info({ host, port }, 'tracker listening');

  let closed: Promise<void> | null = null;
  return {
    port,
    host,
    ctx,
    close(): Promise<void> {
      closed ??= (async () => {
        closing.abort();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await stopped;
        if (workers) await workers.close();
      })();
      return closed;
    },
  };
}
