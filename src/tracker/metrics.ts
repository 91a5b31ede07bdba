/**
 * The tracker's Prometheus metrics. Requests are counted on the hot path
 * with cached plain-object series (see common/fastmetrics); queue depths
 * and device space are read only when scraped, the queue depths through a
 * short cache so a scraper (or several) cannot hammer the database.
 */
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from '../common/fastmetrics';
import type { CounterSeries, HistogramSeries } from '../common/fastmetrics';
import type { DeviceRow } from '../store';
import type { TrackerContext } from './context';

/** Seconds; tracker commands are mostly sub-millisecond, create_open may wait on the monitor. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface CommandSeries {
  duration: HistogramSeries;
  outcomes: Map<string, CounterSeries>;
}

export interface TrackerMetricsOptions {
  /** How long a queue depth sample is reused, ms (default 5000). */
  queueCacheMs?: number;
}

export class TrackerMetrics {
  private readonly requests: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly commands = new Map<string, CommandSeries>();
  private readonly queueCacheMs: number;
  private attached = false;

  constructor(
    readonly registry: Registry,
    opts: TrackerMetricsOptions = {},
  ) {
    this.queueCacheMs = opts.queueCacheMs ?? 5000;
    this.requests = new CounterFamily(
      registry,
      'mogfs_tracker_requests_total',
      'Tracker protocol requests by command and outcome ("ok" or the ERR code sent)',
    );
    this.duration = new HistogramFamily(
      registry,
      'mogfs_tracker_request_duration_seconds',
      'Time from reading a request line to having its reply, by command',
      LATENCY_BUCKETS,
    );
  }

  /**
   * Count one answered request. `command` must come from a bounded set (known
   * command names, or "unknown"); outcome is "ok" or an error code.
   */
  observeRequest(command: string, outcome: string, seconds: number): void {
    let c = this.commands.get(command);
    if (!c) {
      c = { duration: this.duration.series({ command }), outcomes: new Map() };
      this.commands.set(command, c);
    }
    let o = c.outcomes.get(outcome);
    if (!o) {
      o = this.requests.series({ command, outcome });
      c.outcomes.set(outcome, o);
    }
    o.value++;
    this.duration.observe(c.duration, seconds);
  }

  /** Installs the scrape-time gauges that read the tracker's state; called once by startTracker. */
  attach(ctx: TrackerContext, stats: { processing: number }): void {
    if (this.attached) throw new Error('these TrackerMetrics already belong to a tracker; make one per tracker');
    this.attached = true;
    const registers = [this.registry];

    new Gauge({
      name: 'mogfs_tracker_requests_in_progress',
      help: 'Requests being worked on right now',
      registers,
      collect() {
        this.set(stats.processing);
      },
    });

    let sample: { at: number; depths: { replicate: number; delete: number } } | null = null;
    let loading: Promise<void> | null = null;
    const cacheMs = this.queueCacheMs;
    const refresh = (): Promise<void> => {
      loading ??= ctx.store
        .queueDepths()
        .then(
          (depths) => {
            sample = { at: Date.now(), depths };
          },
          (err: unknown) => ctx.log.warn({ err }, 'reading queue depths for metrics failed; reporting the last sample'),
        )
        .finally(() => {
          loading = null;
        });
      return loading;
    };
    new Gauge({
      name: 'mogfs_tracker_queue_depth',
      help: `Files waiting in the replication and delete queues (sampled at most every ${cacheMs / 1000}s)`,
      labelNames: ['queue'],
      registers,
      async collect() {
        if (!sample || Date.now() - sample.at >= cacheMs) await refresh();
        if (!sample) return;
        this.set({ queue: 'replicate' }, sample.depths.replicate);
        this.set({ queue: 'delete' }, sample.depths.delete);
      },
    });

    // ctx.layout() is cached and shares loads in flight, so both gauges
    // reading it on one scrape cost one query at most.
    const deviceGauge = (name: string, help: string, pick: (d: DeviceRow) => number | null): void => {
      new Gauge({
        name,
        help,
        labelNames: ['devid', 'hostid'],
        registers,
        async collect() {
          let devices: DeviceRow[];
          try {
            devices = (await ctx.layout()).devices;
          } catch (err) {
            ctx.log.warn({ err }, 'reading devices for metrics failed');
            return;
          }
          // Rebuilt each scrape so removed devices disappear.
          this.reset();
          for (const d of devices) {
            const v = pick(d);
            if (v !== null) this.set({ devid: String(d.devid), hostid: String(d.hostid) }, v);
          }
        },
      });
    };
    deviceGauge('mogfs_tracker_device_mb_total', 'Device size in MB as last recorded by a monitor (device table mb_total)', (d) => d.mb_total);
    deviceGauge('mogfs_tracker_device_mb_used', 'Device space used in MB as last recorded by a monitor (device table mb_used)', (d) => d.mb_used);
  }
}
