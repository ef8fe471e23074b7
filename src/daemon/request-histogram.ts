/**
 * The histogram of HTTP requests by route, method and status, as prom-client's Histogram serves it
 * (test/daemon/request-histogram.test.ts compares the two texts), without its cost per observation:
 * prom-client builds a string of the labels and looks it up on every observe (a labelled child does
 * the same), a few percent of otsd's time on a cached GET /timestamp. Here a series is found by three
 * Map lookups, its labels made once.
 * @module
 */
import type { Metric, Registry } from 'prom-client';

export interface RequestHistogramConfig {
  name: string;
  help: string;
  /** Upper bounds, ascending. */
  buckets: readonly number[];
  registers: readonly Registry[];
}

interface Series {
  labels: { route: string; method: string; status: string };
  /** Observations per bucket (not cumulative); those above every bound are counted in `count` only. */
  buckets: number[];
  sum: number;
  count: number;
}

/** One line's value, in the form prom-client's Registry formats (a histogram's own labels shared). */
interface Value {
  labels: Record<string, string | number>;
  sharedLabels: Series['labels'];
  value: number;
  metricName: string;
  /** None: null on a bucket and undefined on the sum and count, as prom-client's. */
  exemplar: null | undefined;
}

export class RequestHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  /** How prom-client's cluster aggregation merges it (as a Histogram). */
  readonly aggregator = 'sum';
  private readonly upperBounds: readonly number[];
  /** route → method → status → series. */
  private readonly byLabels = new Map<string, Map<string, Map<number, Series>>>();
  /** Every series, in the order of its first observation (prom-client's order). */
  private readonly series: Series[] = [];

  constructor(config: RequestHistogramConfig) {
    this.name = config.name;
    this.help = config.help;
    this.upperBounds = [...config.buckets];
    // a Registry takes any metric that serves its values this way (prom-client's own are classes)
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  observe(route: string, method: string, status: number, seconds: number): void {
    let methods = this.byLabels.get(route);
    if (methods === undefined) {
      methods = new Map();
      this.byLabels.set(route, methods);
    }
    let statuses = methods.get(method);
    if (statuses === undefined) {
      statuses = new Map();
      methods.set(method, statuses);
    }
    let series = statuses.get(status);
    if (series === undefined) {
      series = {
        labels: { route, method, status: String(status) },
        buckets: this.upperBounds.map(() => 0),
        sum: 0,
        count: 0,
      };
      statuses.set(status, series);
      this.series.push(series);
    }
    for (let i = 0; i < this.upperBounds.length; i++)
      if (seconds <= (this.upperBounds[i] as number)) {
        series.buckets[i] = (series.buckets[i] as number) + 1;
        break;
      }
    series.sum += seconds;
    series.count += 1;
  }

  /** What prom-client's Registry reads to serve the text format (as Histogram's, field for field). */
  async getForPromString(): Promise<{ name: string; help: string; type: string; values: Value[] }> {
    const values: Value[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels: sharedLabels, buckets, sum, count } of this.series) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += buckets[i] as number;
        values.push({ labels: { le }, sharedLabels, value: cumulative, metricName: bucket, exemplar: null });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels, value: count, metricName: bucket, exemplar: null },
        { labels: {}, sharedLabels, value: sum, metricName: `${this.name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels, value: count, metricName: `${this.name}_count`, exemplar: undefined },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values };
  }

  /** What prom-client's Registry reads for JSON: each value with its labels whole. */
  async get(): Promise<{ name: string; help: string; type: string; values: object[]; aggregator: string }> {
    const { values } = await this.getForPromString();
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: values.map(({ labels, sharedLabels, ...value }) => ({
        ...value,
        labels: { ...labels, ...sharedLabels },
      })),
      aggregator: this.aggregator,
    };
  }
}
