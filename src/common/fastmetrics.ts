/**
 * Counter and histogram families for request paths. prom-client's own
 * inc()/observe() build and hash a label object on every call; these keep
 * each label combination as a plain object the caller looks up once and
 * caches, so counting a request is a property increment. The families
 * register themselves with a prom-client Registry and render in its usual
 * text format at scrape time.
 */
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

interface ExportValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** One counter series: increment `value` directly. */
export interface CounterSeries {
  value: number;
}

export class CounterFamily {
  private readonly all: { labels: Labels; s: CounterSeries }[] = [];
  readonly type = 'counter';
  readonly aggregator = 'sum';

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** A new series for these labels: call once per combination and keep it. */
  series(labels: Labels): CounterSeries {
    const s: CounterSeries = { value: 0 };
    this.all.push({ labels: { ...labels }, s });
    return s;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportValue[] }> {
    const values = this.all.map((e) => ({ labels: e.labels, value: e.s.value }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const e of this.all) e.s.value = 0;
  }
}

/** One histogram series: pass it to HistogramFamily.observe. */
export interface HistogramSeries {
  /** Per-bucket counts, not cumulative; the last slot is above the top bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class HistogramFamily {
  private readonly all: { labels: Labels; s: HistogramSeries }[] = [];
  private readonly bounds: Float64Array;
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
  ) {
    this.bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
    registry.registerMetric(this as unknown as Metric);
  }

  series(labels: Labels): HistogramSeries {
    const s: HistogramSeries = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
    this.all.push({ labels: { ...labels }, s });
    return s;
  }

  observe(s: HistogramSeries, value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportValue[] }> {
    const values: ExportValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, s } of this.all) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i];
        values.push({ labels: { ...labels, le: this.bounds[i] }, value: acc, metricName: bucket });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: s.count, metricName: bucket });
      values.push({ labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const { s } of this.all) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
