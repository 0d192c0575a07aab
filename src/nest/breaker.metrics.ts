import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Breaker } from '../core/breaker';
import type { RejectionReason } from '../core/breaker-events';
import { CIRCUIT_STATES } from '../core/circuit-state';
import { BreakerRegistry } from '../core/registry';
import { histogramBuffers, type HistogramBuffer, type SeriesLabels } from './histogram-buffer';
import {
  BREAKER_METRICS,
  CALL_OUTCOMES,
  REJECTION_REASONS,
  type BreakerMetricDefinition,
} from './metric-names';
import type { ResilienceModuleOptions } from './resilience-options.interface';
import { LOG_CONTEXT, RESILIENCE_OPTIONS } from './resilience.constants';
import { PROM_CLIENT_MISSING } from './resilience.messages';
import { checkMetricsOptions, METRICS_OPTIONS } from './resilience-options.table';
import { leaseMetric, type LibraryMetric, type MetricLease } from './shared-metric';

/** The metric objects the series of every breaker live in. */
interface BreakerMetricSet {
  readonly info: Gauge<string>;
  readonly state: Gauge<string>;
  readonly calls: Counter<string>;
  readonly rejected: Counter<string>;
  readonly callDuration: Histogram<string>;
  /** Makes the buffer a series of `callDuration` collects its observations in between scrapes. */
  readonly bufferCallDuration: (labels: SeriesLabels) => HistogramBuffer;
  readonly transitions: Counter<string>;
  readonly failureRate: Gauge<string>;
}

/**
 * Publishes the Prometheus series of every breaker in the registry, those added later
 * included (see {@link BREAKER_METRICS}). Metric objects are get-or-create on
 * `metrics.registry` (prom-client's global `register` by default, which
 * `PrometheusModule.register()` serves at `/metrics`), so several apps in one process share
 * them; each app adds and removes only its own breakers' series and scrape hooks.
 *
 * Counters and the histogram follow breaker events, tallied in plain numbers and added to
 * prom-client at scrape time; the state and failure-rate gauges are read from the breakers
 * then, so a scrape shows each breaker as of now (an OPEN breaker whose open period has
 * passed shows HALF_OPEN). The info gauge labels each breaker with the options alerts select
 * on (`critical`, `preset`).
 *
 * `prom-client` is an optional peer: without it (one log line says so), or with
 * `metrics: false`, this does nothing. `ResilienceModule` provides it; apps never use it directly.
 */
@Injectable()
export class BreakerMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LOG_CONTEXT);
  private readonly series = new Map<Breaker, BreakerSeries>();
  private readonly leases: MetricLease<LibraryMetric>[] = [];
  private readonly subscriptions: Array<() => void> = [];

  constructor(
    private readonly registry: BreakerRegistry,
    @Inject(RESILIENCE_OPTIONS) private readonly options: ResilienceModuleOptions,
  ) {}

  onModuleInit(): void {
    const settings = this.options.metrics;
    if (settings === false) return;
    if (settings !== undefined) checkMetricsOptions(settings);
    const prefix = settings?.prefix ?? (METRICS_OPTIONS.prefix.default as string);
    const prom = loadPromClient();
    if (prom === undefined) {
      this.logger.log(PROM_CLIENT_MISSING);
      return;
    }
    let metrics: BreakerMetricSet;
    try {
      metrics = this.leaseMetrics(prom, settings?.registry ?? prom.register, prefix);
    } catch (error) {
      // Give back the metrics leased before the one that failed, so a failed boot leaves the registry as it was.
      this.onModuleDestroy();
      throw error;
    }
    const track = (breaker: Breaker) => this.series.set(breaker, new BreakerSeries(breaker, metrics));
    this.registry.all().forEach(track);
    this.subscriptions.push(
      this.registry.on('added', track),
      this.registry.on('removed', (breaker) => {
        this.series.get(breaker)?.remove();
        this.series.delete(breaker);
      }),
    );
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.subscriptions.splice(0)) unsubscribe();
    for (const series of this.series.values()) series.remove();
    this.series.clear();
    for (const lease of this.leases.splice(0)) lease.release();
  }

  private leaseMetrics(prom: typeof PromClient, registry: Registry, prefix: string): BreakerMetricSet {
    const lease = <D extends BreakerMetricDefinition>(
      definition: D,
      collect?: (series: BreakerSeries) => void,
    ) => {
      const name = prefix + definition.name;
      const leased = leaseMetric(
        registry,
        name,
        definition,
        (collectAll) => createMetric(prom, registry, name, definition, collectAll),
        collect && (() => this.series.forEach(collect)),
      );
      this.leases.push(leased);
      return leased.metric as MetricOf<D>;
    };
    const metrics = {
      info: lease(BREAKER_METRICS.info, (series) => series.collectInfo()),
      state: lease(BREAKER_METRICS.state, (series) => series.collectState()),
      calls: lease(BREAKER_METRICS.calls, (series) => series.flushCounts()),
      rejected: lease(BREAKER_METRICS.rejected, (series) => series.flushCounts()),
      callDuration: lease(BREAKER_METRICS.callDuration, (series) => series.flushDurations()),
      transitions: lease(BREAKER_METRICS.transitions),
      failureRate: lease(BREAKER_METRICS.failureRate, (series) => series.collectFailureRate()),
    };
    return {
      ...metrics,
      bufferCallDuration: histogramBuffers(metrics.callDuration, BREAKER_METRICS.callDuration.buckets),
    };
  }
}

type MetricOf<D extends BreakerMetricDefinition> = D['type'] extends 'counter'
  ? Counter<string>
  : D['type'] extends 'gauge'
    ? Gauge<string>
    : Histogram<string>;

function createMetric(
  prom: typeof PromClient,
  registry: Registry,
  name: string,
  definition: BreakerMetricDefinition,
  collect: () => void,
): LibraryMetric {
  const config = {
    name,
    help: definition.help,
    labelNames: definition.labelNames,
    registers: [registry],
    collect,
  };
  switch (definition.type) {
    case 'counter':
      return new prom.Counter(config);
    case 'gauge':
      return new prom.Gauge(config);
    case 'histogram':
      return new prom.Histogram({ ...config, buckets: definition.buckets && [...definition.buckets] });
  }
}

/**
 * The series of one breaker. Labelled children are made once. Calls, rejections and call
 * durations are counted in plain numbers and added to the counters and the histogram when
 * they are scraped: prom-client hashes the labels on every increment or observation (about
 * half a microsecond each), which a breaker's hot path should not pay per call.
 */
class BreakerSeries {
  /** The labels of the breaker's `circuit_breaker_info` series; its options never change. */
  private readonly infoLabels: Record<'breaker' | 'critical' | 'preset', string>;
  private readonly info: Gauge.Internal<string>;
  /** One child per state, in `CIRCUIT_STATES` order. */
  private readonly stateChildren: Gauge.Internal<string>[];
  private readonly failureRate: Gauge.Internal<string>;
  /** Per outcome, in `CALL_OUTCOMES` order: the counter child and the calls not yet added to it. */
  private readonly calls: UnflushedCount[];
  private readonly rejected: Record<RejectionReason, UnflushedCount>;
  /** Per outcome, in `CALL_OUTCOMES` order: the durations not yet added to the histogram. */
  private readonly durations: HistogramBuffer[];
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly breaker: Breaker,
    private readonly metrics: BreakerMetricSet,
  ) {
    const name = breaker.name;
    this.infoLabels = {
      breaker: name,
      critical: String(breaker.options.critical),
      preset: breaker.options.preset ?? '',
    };
    this.info = metrics.info.labels(this.infoLabels);
    this.stateChildren = CIRCUIT_STATES.map((state) => metrics.state.labels(name, state));
    this.failureRate = metrics.failureRate.labels(name);
    this.calls = CALL_OUTCOMES.map((outcome) => unflushedCount(metrics.calls.labels(name, outcome)));
    this.rejected = {} as typeof this.rejected;
    for (const reason of REJECTION_REASONS) {
      this.rejected[reason] = unflushedCount(metrics.rejected.labels(name, reason));
    }
    this.durations = CALL_OUTCOMES.map((outcome) => metrics.bufferCallDuration({ breaker: name, outcome }));
    this.unsubscribe = [
      ...CALL_OUTCOMES.map((outcome, i) => {
        const count = this.calls[i];
        const durations = this.durations[i];
        return breaker.on(outcome, (event) => {
          count.unflushed++;
          durations.observe(event.durationMs / 1000);
        });
      }),
      breaker.on('rejected', (event) => {
        this.rejected[event.reason].unflushed++;
      }),
      breaker.on('stateChange', (event) => {
        metrics.transitions.inc({ breaker: name, from: event.from, to: event.to });
      }),
    ];
    this.collectInfo();
    this.collectState();
    this.collectFailureRate();
  }

  /** Sets the info series at every scrape too, so that it survives a `resetMetrics()` of the registry. */
  collectInfo(): void {
    this.info.set(1);
  }

  /** Adds the calls and rejections counted since the last scrape to the counters. */
  flushCounts(): void {
    for (const count of this.calls) flush(count);
    for (const reason of REJECTION_REASONS) flush(this.rejected[reason]);
  }

  /** Adds the call durations observed since the last scrape to the histogram. */
  flushDurations(): void {
    for (const durations of this.durations) durations.flush();
  }

  /** Sets the one-hot state gauge; reading `state` applies a due OPEN -> HALF_OPEN first. */
  collectState(): void {
    const current = this.breaker.state;
    CIRCUIT_STATES.forEach((state, i) => this.stateChildren[i].set(state === current ? 1 : 0));
  }

  collectFailureRate(): void {
    this.failureRate.set(this.breaker.snapshot().failureRate);
  }

  /** Stops following the breaker and removes every series it had. */
  remove(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    const { info, state, calls, rejected, callDuration, transitions, failureRate } = this.metrics;
    const breaker = this.breaker.name;
    info.remove(this.infoLabels);
    for (const from of CIRCUIT_STATES) {
      state.remove({ breaker, state: from });
      for (const to of CIRCUIT_STATES) if (to !== from) transitions.remove({ breaker, from, to });
    }
    for (const outcome of CALL_OUTCOMES) {
      calls.remove({ breaker, outcome });
      callDuration.remove({ breaker, outcome });
    }
    for (const reason of REJECTION_REASONS) rejected.remove({ breaker, reason });
    failureRate.remove({ breaker });
  }
}

/** A counter child and the increments not yet added to it. */
interface UnflushedCount {
  readonly child: Counter.Internal;
  unflushed: number;
}

/**
 * Creates the series at 0, so that dashboards list the breaker before its first call and
 * rate() works from the first event.
 */
function unflushedCount(child: Counter.Internal): UnflushedCount {
  child.inc(0);
  return { child, unflushed: 0 };
}

function flush(count: UnflushedCount): void {
  if (count.unflushed === 0) return;
  count.child.inc(count.unflushed);
  count.unflushed = 0;
}

/** prom-client is an optional peer: it is loaded only when metrics are on, and only if installed. */
function loadPromClient(): typeof PromClient | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a static import would make the optional peer mandatory
    return require('prom-client') as typeof PromClient;
  } catch (error) {
    // Only prom-client itself missing means "not installed"; anything else is a broken install and must surface.
    if (
      (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' &&
      String(error).includes("'prom-client'")
    ) {
      return undefined;
    }
    throw error;
  }
}
