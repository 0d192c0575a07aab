import type { Histogram } from 'prom-client';
import { HISTOGRAM_INTERNALS_CHANGED } from './resilience.messages';

/** The labels of one histogram series, by label name. */
export type SeriesLabels = Readonly<Record<string, string>>;

/**
 * The observations of one labelled histogram series, kept in plain numbers until a scrape
 * adds them to the prom-client histogram with {@link HistogramBuffer.flush}. prom-client's
 * `observe()` hashes the labels on every call (about half a microsecond), which a breaker's
 * hot path should not pay; here an observation is a few comparisons and three additions.
 * The series appears in the histogram at the first flush that has observations, as it would
 * at the first `observe()`.
 */
export class HistogramBuffer {
  /**
   * Observations since the last flush per bucket, not cumulative: index i counts the values
   * in (bounds[i - 1], bounds[i]]; the last slot, those above every bound (`+Inf` only).
   */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  /** Made by {@link histogramBuffers}, which checks that `key` and `bounds` are the histogram's. */
  constructor(
    private readonly histogram: Histogram<string>,
    private readonly key: string,
    private readonly labels: SeriesLabels,
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

  /** Adds the observations made since the last flush to the histogram. */
  flush(): void {
    if (this.count === 0) return;
    addObservations(this.histogram, this.key, this.labels, this.bounds, this.counts, this.sum, this.count);
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/**
 * Returns a maker of {@link HistogramBuffer}s for the series of `histogram`, whose buckets are
 * `bounds`. It first checks that prom-client keeps histogram series the way
 * {@link addObservations} expects, so that a prom-client release that changed them fails the
 * boot with a clear message instead of dropping or corrupting durations at scrape time.
 * @throws Error when prom-client's histogram internals are not the expected ones.
 */
export function histogramBuffers(
  histogram: Histogram<string>,
  bounds: readonly number[],
): (labels: SeriesLabels) => HistogramBuffer {
  const keyOf = loadSeriesKey();
  if (keyOf === undefined) throw new Error(HISTOGRAM_INTERNALS_CHANGED);
  const { upperBounds } = histogram as unknown as HistogramInternals;
  let works: boolean;
  try {
    works =
      Array.isArray(upperBounds) &&
      upperBounds.join() === bounds.join() &&
      bulkObserveWorks(histogram, bounds, keyOf);
  } catch (error) {
    throw new Error(HISTOGRAM_INTERNALS_CHANGED, { cause: error });
  }
  if (!works) throw new Error(HISTOGRAM_INTERNALS_CHANGED);
  // A typed copy: reads from a frozen array (prom-client freezes the buckets it is given) are several times slower.
  const typedBounds = Float64Array.from(bounds);
  return (labels) => new HistogramBuffer(histogram, keyOf(labels), labels, typedBounds);
}

/** What prom-client 15 keeps on a histogram (lib/histogram.js), not in its typings. */
interface HistogramInternals {
  readonly upperBounds?: unknown;
  /** Every labelled series, under the key prom-client's `hashObject` builds from its labels. */
  readonly hashMap?: Record<string, HistogramSeries | undefined> | null;
}

/** One labelled series of a prom-client histogram: what `observe()` updates and a scrape reads. */
interface HistogramSeries {
  /** Observations per bucket, by upper bound, not cumulative; one above every bound is in none. */
  readonly bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/**
 * Adds `count` observations, `counts[i]` of them in bucket i, to a series of a prom-client
 * histogram in one step. prom-client has no bulk update, and observing each value again
 * would cost what the buffer saves, so this updates the series record `observe()` updates
 * (prom-client 15 `lib/histogram.js`), creating it with the public `zero()` when it is
 * missing (first flush, or after `resetMetrics()` or `remove()`). The only code that writes
 * prom-client internals; {@link bulkObserveWorks} checks it, and {@link loadSeriesKey}, at
 * start-up.
 */
function addObservations(
  histogram: Histogram<string>,
  key: string,
  labels: SeriesLabels,
  bounds: ArrayLike<number>,
  counts: Float64Array,
  sum: number,
  count: number,
): void {
  const internals = histogram as unknown as HistogramInternals;
  if (internals.hashMap?.[key] === undefined) histogram.zero(labels);
  const series = internals.hashMap?.[key];
  if (series === undefined) throw new Error(HISTOGRAM_INTERNALS_CHANGED);
  for (let i = 0; i < bounds.length; i++) series.bucketValues[bounds[i]] += counts[i];
  series.sum += sum;
  series.count += count;
}

/**
 * prom-client's own series key function (`hashObject` in lib/util.js), so that keys match
 * whichever 15.x is installed: 15.0 and 15.1 build them differently. prom-client exports no
 * way to address a series. Undefined when it is not there.
 */
function loadSeriesKey(): ((labels: SeriesLabels) => string) | undefined {
  let util: { hashObject?: unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal module, loaded only when metrics are on
    util = require('prom-client/lib/util') as typeof util;
  } catch {
    return undefined;
  }
  const { hashObject } = util;
  // One argument only: prom-client 15.1 takes a second one as the label names to key by.
  return typeof hashObject === 'function' ? (labels) => String(hashObject(labels)) : undefined;
}

/**
 * Observes through the public API on a throw-away, unregistered histogram of the class of
 * `histogram`, adds in bulk to another series, and reads both back where
 * {@link addObservations} reads and writes.
 */
function bulkObserveWorks(
  histogram: Histogram<string>,
  bounds: readonly number[],
  keyOf: (labels: SeriesLabels) => string,
): boolean {
  const Probe = histogram.constructor as new (config: object) => Histogram<string>;
  const probe = new Probe({
    name: 'nest_resilience_probe',
    help: 'probe',
    labelNames: ['b', 'a'],
    buckets: [...bounds],
    registers: [],
  });
  // Label names out of order: prom-client sorts them into the key.
  const observed = { b: 'x', a: 'y' };
  probe.observe(observed, bounds[0]);
  const added = { b: 'z', a: 'y' };
  const counts = new Float64Array(bounds.length + 1).fill(1);
  addObservations(probe, keyOf(added), added, bounds, counts, 6, counts.length);
  const { hashMap } = probe as unknown as HistogramInternals;
  const holds = (labels: SeriesLabels, bucket: (i: number) => number, sum: number, count: number) => {
    const series = hashMap?.[keyOf(labels)];
    return (
      series !== undefined &&
      series.sum === sum &&
      series.count === count &&
      bounds.every((bound, i) => series.bucketValues[bound] === bucket(i))
    );
  };
  return holds(observed, (i) => (i === 0 ? 1 : 0), bounds[0], 1) && holds(added, () => 1, 6, counts.length);
}
