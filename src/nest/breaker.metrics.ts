import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Registry } from 'prom-client';
import type { Breaker } from '../core/breaker';
import { requireOptional } from '../core/optional-peer';
import { BreakerRegistry } from '../core/registry';
import { BreakerStore, type StoreStats } from '../stores/breaker-store';
import { BreakerSeries, type BreakerMetricSet } from './breaker-series';
import { BufferedHistogram, type HistogramSeries } from './buffered-histogram';
import { InvalidKeyWarnings } from './invalid-key.warnings';
import { KeyedSeries } from './keyed-series';
import {
  BREAKER_METRICS,
  rejectionReasonsOf,
  ZERO_SERIES,
  type BreakerMetricDefinition,
  type ZeroSeries,
} from './metric-names';
import type { ResilienceModuleOptions } from './resilience-options.interface';
import { LOG_CONTEXT, RESILIENCE_OPTIONS } from './resilience.constants';
import { PROM_CLIENT_MISSING } from './resilience.messages';
import { checkMetricsOptions, METRICS_OPTIONS } from './resilience-options.table';
import { EarlyStart } from './registry-holder';
import { counterTellingResets, leaseMetric, type MetricLease } from './shared-metric';

/**
 * Publishes the Prometheus series of every breaker in the registry, those added later
 * included (see {@link BREAKER_METRICS}). Metric objects are get-or-create on
 * `metrics.registry` (prom-client's global `register` by default, which
 * `PrometheusModule.register()` serves at `/metrics`), so several apps in one process share
 * them; each app adds and removes only its own breakers' series and scrape hooks.
 *
 * Counters and the histogram follow breaker events, tallied in plain numbers and handed to
 * prom-client at scrape time (the histogram is a metric object of the library's own, see
 * {@link BufferedHistogram}); the state and failure-rate gauges are read from the breakers
 * then, so a scrape shows each breaker as of now (an OPEN breaker whose open period has
 * passed shows HALF_OPEN). The info gauge labels each breaker with the options alerts select
 * on (`critical`, `preset`). The counter series that start at 0 ({@link ZERO_SERIES}, the
 * store's operations) are published at 0 again by the first scrape after a reset of their
 * counter (`registry.resetMetrics()`), so `increase()` counts their next event.
 *
 * It publishes in `onModuleInit`, or before a call made earlier (see `registry-holder.ts`), so
 * that a breaker opened by a warm-up in a deeper module's `onModuleInit` is counted.
 *
 * `prom-client` is an optional peer: without it (one log line says so), or with
 * `metrics: false`, this publishes nothing. Calls refused for a key no per-key breaker can have
 * (HTTP 400), which never reach a breaker and so no series, are logged whatever the metrics
 * settings ({@link InvalidKeyWarnings}), from the moment the app is built.
 * `ResilienceModule` provides it; apps never use it directly.
 */
@Injectable()
export class BreakerMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LOG_CONTEXT);
  /** The series of each breaker that has its own: named ones, and per-key ones with `metrics.perKey`. */
  private readonly series = new Map<Breaker, BreakerSeries>();
  /** The summary series of per-key breakers, by the name they are kept under. */
  private readonly keyed = new Map<string, KeyedSeries>();
  /** Per-key breakers counted in a summary, and the function that stops counting each. */
  private readonly summarised = new Map<Breaker, () => void>();
  private readonly leases: MetricLease<object>[] = [];
  private readonly subscriptions: Array<() => void> = [];

  /** Store errors by operation as last handed to the counter. */
  private readonly storeErrorsSeen = new Map<string, number>();
  private readonly keyWarnings = new InvalidKeyWarnings((line) => this.logger.warn(line));
  private readonly stopHearingKeys: () => void;
  /** Publishes once, in `onModuleInit` or before a call made earlier (see `registry-holder.ts`). */
  private readonly publishing = new EarlyStart(() => this.publish());

  constructor(
    private readonly registry: BreakerRegistry,
    @Inject(RESILIENCE_OPTIONS) private readonly options: ResilienceModuleOptions,
    @Optional() @Inject(BreakerStore) private readonly store?: BreakerStore,
  ) {
    // From now, not onModuleInit: a decorated method may be called before (see registry-holder).
    this.stopHearingKeys = registry.on('invalidKey', (error) => this.keyWarnings.refused(error));
  }

  onModuleInit(): void {
    this.publishing.init();
  }

  /** Leases the metrics and follows every breaker, those added later too, until `onModuleDestroy`. */
  private publish(): void {
    const settings = this.options.metrics;
    if (settings === false) return;
    if (settings !== undefined) checkMetricsOptions(settings);
    const prefix = settings?.prefix ?? (METRICS_OPTIONS.prefix.default as string);
    const perKey = settings?.perKey ?? (METRICS_OPTIONS.perKey.default as boolean);
    const prom = requireOptional<typeof PromClient>('prom-client');
    if (prom === undefined) {
      this.logger.log(PROM_CLIENT_MISSING);
      return;
    }
    let metrics: BreakerMetricSet;
    try {
      metrics = this.leaseMetrics(
        prom,
        (settings?.registry as Registry | undefined) ?? prom.register,
        prefix,
      );
    } catch (error) {
      // Give back the metrics leased before the one that failed, so a failed boot leaves the registry as it was.
      this.release();
      throw error;
    }
    const track = (breaker: Breaker) => this.track(breaker, metrics, perKey);
    this.registry.all().forEach(track);
    this.subscriptions.push(
      this.registry.on('added', track),
      this.registry.on('removed', (breaker) => this.untrack(breaker)),
    );
  }

  onModuleDestroy(): void {
    this.publishing.stop();
    this.stopHearingKeys();
    this.keyWarnings.close();
    this.release();
  }

  /** Stops following the breakers, removes this app's series and gives back the metrics. */
  private release(): void {
    for (const unsubscribe of this.subscriptions.splice(0)) unsubscribe();
    for (const series of this.series.values()) series.remove();
    this.series.clear();
    for (const stop of this.summarised.values()) stop();
    this.summarised.clear();
    for (const summary of this.keyed.values()) summary.remove();
    this.keyed.clear();
    for (const lease of this.leases.splice(0)) lease.release();
  }

  private track(breaker: Breaker, metrics: BreakerMetricSet, perKey: boolean): void {
    const { perKey: identity } = breaker;
    if (identity === undefined || perKey) this.series.set(breaker, new BreakerSeries(breaker, metrics));
    if (identity === undefined) return;
    let summary = this.keyed.get(identity.name);
    if (summary === undefined)
      this.keyed.set(
        identity.name,
        (summary = new KeyedSeries(identity.name, metrics, rejectionReasonsOf(breaker.options))),
      );
    this.summarised.set(breaker, summary.follow(breaker));
  }

  private untrack(breaker: Breaker): void {
    this.series.get(breaker)?.remove();
    this.series.delete(breaker);
    this.summarised.get(breaker)?.();
    this.summarised.delete(breaker);
  }

  private leaseMetrics(prom: typeof PromClient, registry: Registry, prefix: string): BreakerMetricSet {
    const lease = <M extends object, C>(
      definition: BreakerMetricDefinition,
      create: (name: string, contributions: () => Iterable<C>) => M,
      contribution: C,
    ): M => {
      const name = prefix + definition.name;
      const leased = leaseMetric(registry, name, definition, (all) => create(name, all), contribution);
      this.leases.push(leased);
      return leased.metric;
    };
    /**
     * A prom-client metric whose owners each set their series at scrape time with `collect`; a
     * counter's, after a reset of it, first publish again with `restoreZeros` the series they
     * start at 0.
     */
    const promMetric = <D extends PromMetricDefinition>(
      definition: D,
      collect?: () => void,
      restoreZeros?: (metric: MetricOf<D>) => void,
    ): MetricOf<D> => {
      const metric: MetricOf<D> = lease<MetricOf<D>, Contribution>(
        definition,
        (name, contributions) =>
          createMetric(prom, registry, name, definition, (reset) => {
            for (const contribute of contributions()) contribute?.(reset);
          }) as MetricOf<D>,
        (reset) => {
          if (reset === true) restoreZeros?.(metric);
          collect?.();
        },
      );
      return metric;
    };
    /** A scrape-time contribution that calls `method` of every breaker's series (or summary). */
    const eachSeries = (method: ScrapeStep<BreakerSeries>) => () => this.series.forEach((s) => s[method]());
    const eachSummary = (method: ScrapeStep<KeyedSeries>) => () => this.keyed.forEach((k) => k[method]());
    // Leased in BREAKER_METRICS order, which is the order a scrape lists them in.
    const info = promMetric(BREAKER_METRICS.info, eachSeries('collectInfo'));
    const state = promMetric(BREAKER_METRICS.state, eachSeries('collectState'));
    const calls = promMetric(
      BREAKER_METRICS.calls,
      eachSeries('flushCounts'),
      this.zerosOfBreakers(ZERO_SERIES.calls),
    );
    const rejected = promMetric(
      BREAKER_METRICS.rejected,
      eachSeries('flushCounts'),
      this.zerosOfBreakers(ZERO_SERIES.rejected),
    );
    lease<BufferedHistogram, () => Iterable<HistogramSeries>>(
      BREAKER_METRICS.callDuration,
      (name, owners) => {
        const histogram = new BufferedHistogram(name, BREAKER_METRICS.callDuration.help, function* () {
          for (const seriesOf of owners()) yield* seriesOf();
        });
        // The registry takes any metric object with a name and get(); its typings list only its own classes.
        registry.registerMetric(histogram as unknown as PromClient.Metric);
        return histogram;
      },
      () => this.durationSeries(),
    );
    const set: BreakerMetricSet = {
      info,
      state,
      calls,
      rejected,
      transitions: promMetric(
        BREAKER_METRICS.transitions,
        undefined,
        this.zerosOfBreakers(ZERO_SERIES.transitions),
      ),
      failureRate: promMetric(BREAKER_METRICS.failureRate, eachSeries('collectFailureRate')),
      keys: promMetric(BREAKER_METRICS.keys, eachSummary('collectKeys')),
      keyedCalls: promMetric(
        BREAKER_METRICS.keyedCalls,
        eachSummary('flushCounts'),
        this.zerosOfSummaries(ZERO_SERIES.calls),
      ),
      keyedRejected: promMetric(
        BREAKER_METRICS.keyedRejected,
        eachSummary('flushCounts'),
        this.zerosOfSummaries(ZERO_SERIES.rejected),
      ),
      keyedTransitions: promMetric(
        BREAKER_METRICS.keyedTransitions,
        undefined,
        this.zerosOfSummaries(ZERO_SERIES.transitions),
      ),
    };
    if (this.store?.stats !== undefined)
      this.leaseStoreMetrics(promMetric, this.store.stats.bind(this.store));
    return set;
  }

  /**
   * The store's series, for a store that counts itself (redis): whether it works, its failed
   * commands, and the live instances of the fleet.
   */
  private leaseStoreMetrics(
    promMetric: <D extends PromMetricDefinition>(
      definition: D,
      collect?: () => void,
      restoreZeros?: (metric: MetricOf<D>) => void,
    ) => MetricOf<D>,
    stats: () => StoreStats,
  ): void {
    const errors: Counter<string> = promMetric(
      BREAKER_METRICS.storeErrors,
      () => this.collectStoreErrors(errors, stats().errors),
      // Every operation seen, at 0 again: the errors counted since are added by the collect after.
      (counter) => this.storeErrorsSeen.forEach((_, operation) => counter.inc({ operation }, 0)),
    );
    const up: Gauge<string> = promMetric(BREAKER_METRICS.storeUp, () => up.set(stats().up ? 1 : 0));
    const instances: Gauge<string> = promMetric(BREAKER_METRICS.fleetInstances, () =>
      instances.set(stats().instances ?? 1),
    );
  }

  /** Hands the store's failed commands counted since the last scrape to the counter. */
  private collectStoreErrors(counter: Counter<string>, errors: Readonly<Record<string, number>>): void {
    for (const [operation, count] of Object.entries(errors)) {
      const seen = this.storeErrorsSeen.get(operation) ?? 0;
      // An operation the store counts, at 0 from its first scrape: `increase()` sees its first error.
      if (count > seen || !this.storeErrorsSeen.has(operation)) counter.inc({ operation }, count - seen);
      this.storeErrorsSeen.set(operation, count);
    }
  }

  /** Publishes in a counter the series `zeros` lists at 0 for every breaker with series of its own. */
  private zerosOfBreakers(zeros: ZeroSeries): (counter: Counter<string>) => void {
    return (counter) => {
      for (const breaker of this.series.keys()) {
        for (const labels of zeros(breaker.name, rejectionReasonsOf(breaker.options))) counter.inc(labels, 0);
      }
    };
  }

  /** Publishes in a `keyed` counter the series `zeros` lists at 0 for every summary of per-key breakers. */
  private zerosOfSummaries(zeros: ZeroSeries): (counter: Counter<string>) => void {
    return (counter) => {
      for (const [name, summary] of this.keyed) {
        for (const labels of zeros(name, summary.reasons)) counter.inc(labels, 0);
      }
    };
  }

  /** The call duration series of every breaker of this app. */
  private *durationSeries(): Iterable<HistogramSeries> {
    for (const series of this.series.values()) yield* series.durations;
  }
}

/**
 * An owner's part in a scrape of a metric it shares; `reset` is true at the first scrape after a
 * reset of the metric. A copy of the package that calls it without `reset` (or is called with it
 * and ignores it) still shares the metric: only its series at 0 are not published again.
 */
type Contribution = ((reset?: boolean) => void) | undefined;

/** The methods of `T` a scrape calls: they take nothing and return nothing. */
type ScrapeStep<T> = { [K in keyof T]: T[K] extends () => void ? K : never }[keyof T];

/** The definition of a series family prom-client's own classes publish. */
type PromMetricDefinition = BreakerMetricDefinition & { readonly type: 'counter' | 'gauge' };

type MetricOf<D extends PromMetricDefinition> = D['type'] extends 'counter' ? Counter<string> : Gauge<string>;

function createMetric(
  prom: typeof PromClient,
  registry: Registry,
  name: string,
  definition: PromMetricDefinition,
  collect: (reset: boolean) => void,
): Counter<string> | Gauge<string> {
  switch (definition.type) {
    case 'counter':
      return counterTellingResets(prom, registry, name, definition, collect);
    case 'gauge':
      // A gauge's series are all set at every scrape: only a counter's reset needs telling.
      return new prom.Gauge({
        name,
        help: definition.help,
        labelNames: definition.labelNames,
        registers: [registry],
        collect: () => collect(false),
      });
  }
}
