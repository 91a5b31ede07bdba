/**
 * mogstored's Prometheus metrics: HTTP requests by method and status, bytes
 * received and sent on the HTTP port, and each device's space. Bytes are
 * counted per socket (Node keeps those counters anyway) and summed at scrape
 * time, so serving a request costs one cached-series increment and nothing else.
 */
import type http from 'node:http';
import type net from 'node:net';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { CounterFamily } from '../common/fastmetrics';
import type { CounterSeries } from '../common/fastmetrics';
import type { Logger } from '../common/log';
import { listDevices } from './usage';

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'OPTIONS']);

export class StorageMetrics {
  private readonly requests: CounterFamily;
  /** method -> status -> series; methods outside METHODS share "other". */
  private readonly byMethod = new Map<string, Map<number, CounterSeries>>();
  private attached = false;

  constructor(readonly registry: Registry) {
    this.requests = new CounterFamily(registry, 'mogfs_storage_requests_total', 'HTTP requests answered, by method and status code');
  }

  observeRequest(method: string | undefined, status: number): void {
    const m = method !== undefined && METHODS.has(method) ? method : 'other';
    let byStatus = this.byMethod.get(m);
    if (!byStatus) {
      byStatus = new Map();
      this.byMethod.set(m, byStatus);
    }
    let s = byStatus.get(status);
    if (!s) {
      s = this.requests.series({ method: m, status: String(status) });
      byStatus.set(status, s);
    }
    s.value++;
  }

  /** Counts the HTTP server's bytes and reports the docroot's devices; called once by the storage node. */
  attach(server: http.Server, docroot: string, log: Logger): void {
    if (this.attached) throw new Error('these StorageMetrics already belong to a storage node; make one per node');
    this.attached = true;
    const registers = [this.registry];

    // Totals of closed sockets plus the live ones' running counts: monotonic,
    // since a socket's final count is never below what it showed while open.
    const live = new Set<net.Socket>();
    let closedIn = 0;
    let closedOut = 0;
    server.on('connection', (socket: net.Socket) => {
      live.add(socket);
      socket.once('close', () => {
        live.delete(socket);
        closedIn += socket.bytesRead;
        closedOut += socket.bytesWritten;
      });
    });
    const bytesCounter = (name: string, help: string, total: () => number): void => {
      let reported = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const now = total();
          if (now > reported) this.inc(now - reported);
          reported = now;
        },
      });
    };
    bytesCounter('mogfs_storage_received_bytes_total', 'Bytes received on the HTTP port (request lines, headers and bodies)', () => {
      let n = closedIn;
      for (const s of live) n += s.bytesRead;
      return n;
    });
    bytesCounter('mogfs_storage_sent_bytes_total', 'Bytes sent on the HTTP port (status lines, headers and bodies)', () => {
      let n = closedOut;
      for (const s of live) n += s.bytesWritten;
      return n;
    });

    // One statfs round per scrape, shared by the three device gauges.
    let round: Promise<void> | null = null;
    const measure = (): Promise<void> => {
      round ??= (async () => {
        const devids = await listDevices(docroot);
        const stats = await Promise.all(devids.map((d) => statfs(path.join(docroot, `dev${d}`)).catch(() => null)));
        // Rebuilt each scrape so removed devices disappear.
        for (const g of gauges) g.reset();
        devids.forEach((devid, i) => {
          const st = stats[i];
          if (!st) return;
          const labels = { devid: String(devid) };
          total.set(labels, st.blocks * st.bsize);
          used.set(labels, (st.blocks - st.bfree) * st.bsize);
          available.set(labels, st.bavail * st.bsize);
        });
      })()
        .catch((err: unknown) => log.warn({ err }, 'measuring devices for metrics failed'))
        .finally(() => {
          round = null;
        });
      return round;
    };
    const deviceGauge = (name: string, help: string): Gauge =>
      new Gauge({ name, help, labelNames: ['devid'], registers, collect: measure });
    const total = deviceGauge('mogfs_storage_device_bytes_total', 'Size of the filesystem holding dev<devid>');
    const used = deviceGauge('mogfs_storage_device_bytes_used', 'Bytes used on the filesystem holding dev<devid>');
    const available = deviceGauge('mogfs_storage_device_bytes_available', 'Bytes available to mogstored on the filesystem holding dev<devid>');
    const gauges = [total, used, available];
  }
}
