/** One sample of a scrape, as prom-client's registry reads it from a metric's `get()`. */
export interface ScrapeValue {
  metricName: string;
  labels: Readonly<Record<string, string | number>>;
  value: number;
}

/**
 * One labelled series of a {@link BufferedHistogram}: its observations in plain numbers, so
 * that an observation costs a few comparisons and three additions. prom-client's `observe()`
 * hashes the labels on every call (about half a microsecond), which a breaker's hot path
 * should not pay.
 */
export class HistogramSeries {
  /**
   * Observations per bucket, not cumulative: index i counts the values in
   * (bounds[i - 1], bounds[i]]; the last slot, those above every bound (`+Inf` only).
   */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    /** The buckets' upper bounds, ascending. */
    private readonly bounds: Float64Array,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    // Prometheus buckets are inclusive (`le`): a value on a bound belongs to that bound's bucket.
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** A new series with the labels of this one and the observations of both. */
  plus(other: HistogramSeries): HistogramSeries {
    const sum = new HistogramSeries(this.labels, this.bounds);
    for (let i = 0; i < this.counts.length; i++) sum.counts[i] = this.counts[i] + other.counts[i];
    sum.sum = this.sum + other.sum;
    sum.count = this.count + other.count;
    return sum;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /**
   * Appends the series' samples (cumulative `_bucket`s, `+Inf`, `_sum`, `_count`) to `values`,
   * as prom-client's Histogram renders them; nothing before its first observation, as
   * prom-client shows no series that was never observed.
   */
  render(name: string, values: ScrapeValue[]): void {
    if (this.count === 0) return;
    const bucket = `${name}_bucket`;
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i];
      values.push({ metricName: bucket, labels: { ...this.labels, le: this.bounds[i] }, value: cumulative });
    }
    values.push(
      { metricName: bucket, labels: { ...this.labels, le: '+Inf' }, value: this.count },
      { metricName: `${name}_sum`, labels: this.labels, value: this.sum },
      { metricName: `${name}_count`, labels: this.labels, value: this.count },
    );
  }
}

/**
 * A histogram metric of its own, for prom-client's `registry.registerMetric()`, which takes
 * any object with a `name` and a `get()`: it renders the series it is given at scrape time.
 * Built on prom-client's public API only, so a prom-client release that changes how its own
 * Histogram keeps series changes nothing here.
 */
export class BufferedHistogram {
  readonly type = 'histogram';
  /** How prom-client's AggregatorRegistry combines workers' values. */
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    /** Every series of the histogram now. */
    private readonly series: () => Iterable<HistogramSeries>,
  ) {}

  /**
   * What a scrape shows (prom-client's registry calls it). Series of the same labels (one
   * breaker of two apps sharing the registry) show as one, their observations added up.
   */
  async get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: ScrapeValue[];
  }> {
    const byLabels = new Map<string, HistogramSeries>();
    for (const series of this.series()) {
      const key = JSON.stringify(series.labels);
      const seen = byLabels.get(key);
      byLabels.set(key, seen === undefined ? series : seen.plus(series));
    }
    const values: ScrapeValue[] = [];
    for (const series of byLabels.values()) series.render(this.name, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Forgets every observation (prom-client's `registry.resetMetrics()` calls it). */
  reset(): void {
    for (const series of this.series()) series.reset();
  }
}
