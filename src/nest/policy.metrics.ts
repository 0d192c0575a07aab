import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Registry } from 'prom-client';
import { requireOptional } from '../core/optional-peer';
import type { PolicyEvent } from '../core/policies/policy-events';
import type { Policies } from '../core/policies/policies';
import { POLICY_METRICS, POLICY_ZERO_SERIES } from './metric-names';
import { PolicyRegistry } from './policy-registry';
import type { ResilienceModuleOptions } from './resilience-options.interface';
import { InvalidKeyWarnings } from './invalid-key.warnings';
import { LOG_CONTEXT, RESILIENCE_OPTIONS } from './resilience.constants';
import { EarlyStart } from './registry-holder';
import { counterTellingResets, leaseMetric, type MetricLease } from './shared-metric';

/**
 * Publishes the policies' series (see {@link POLICY_METRICS}) next to the breakers', on the
 * same registry and prefix, shared the same way by several apps in one process. Counters
 * follow the policies' events, from 0 for what each policy's protections can count
 * ({@link POLICY_ZERO_SERIES}, published by the first scrape that sees the policy, and again
 * after a reset of the counter); the bulkhead gauges are read at scrape time. No series without
 * prom-client or with `metrics: false` (`BreakerMetrics` says so once). Calls refused for an
 * invalid rate-limit key, which no series counts, are logged whatever the metrics settings
 * ({@link InvalidKeyWarnings}), from the moment the app is built.
 *
 * It follows the policies' events from its construction, and counts them from `onModuleInit`
 * or before a call made earlier (see {@link EarlyStart}), so that a retry or a refusal of a
 * warm-up call in a deeper module's `onModuleInit` is counted.
 */
@Injectable()
export class PolicyMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly leases: MetricLease<object>[] = [];
  private readonly logger = new Logger(LOG_CONTEXT);
  private readonly keyWarnings = new InvalidKeyWarnings((line) => this.logger.warn(line));
  private readonly unsubscribe: () => void;
  /** The counters once published; undefined before, and with metrics off. */
  private counters: { retries: Counter<string>; rejected: Counter<string> } | undefined;
  private readonly publishing = new EarlyStart(() => (this.counters = this.leaseMetrics()));
  /** The series this app counted in, by counter: removed when it closes, as breakers' are. */
  private readonly counted = new Map<Counter<string>, Map<string, Record<string, string>>>();

  constructor(
    @Inject(PolicyRegistry) private readonly policies: PolicyRegistry,
    @Inject(RESILIENCE_OPTIONS) private readonly options: ResilienceModuleOptions,
  ) {
    // From now, not onModuleInit: a decorated method may be called before (see registry-holder).
    this.unsubscribe = this.policies.on((event) => this.hear(event));
  }

  onModuleInit(): void {
    this.publishing.init();
  }

  onModuleDestroy(): void {
    this.publishing.stop();
    this.unsubscribe();
    this.keyWarnings.close();
    this.release();
  }

  private hear(event: PolicyEvent): void {
    const counters = this.counters;
    switch (event.kind) {
      case 'retry':
        if (counters) this.count(counters.retries, event.policy, 'outcome', event.outcome);
        break;
      case 'rejected':
        if (counters) this.count(counters.rejected, event.policy, 'reason', event.reason);
        break;
      case 'invalid_key':
        this.keyWarnings.refused(event.error);
    }
  }

  /** Removes this app's series and gives back the metrics. */
  private release(): void {
    this.counters = undefined;
    for (const [counter, series] of this.counted)
      for (const labels of series.values()) counter.remove(labels);
    this.counted.clear();
    for (const lease of this.leases.splice(0)) lease.release();
  }

  /** The policies' counters (their gauges read at scrape time); undefined when metrics are off. */
  private leaseMetrics(): { retries: Counter<string>; rejected: Counter<string> } | undefined {
    const settings = this.options.metrics;
    if (settings === false) return undefined;
    const prom = requireOptional<typeof PromClient>('prom-client');
    if (prom === undefined) return undefined;
    const registry = (settings?.registry as Registry | undefined) ?? prom.register;
    const prefix = settings?.prefix ?? '';
    try {
      const retries = this.counter(prom, registry, prefix, 'retries');
      const rejected = this.counter(prom, registry, prefix, 'rejected');
      this.gauge(prom, registry, prefix, POLICY_METRICS.bulkheadActive, (b) => b.active);
      this.gauge(prom, registry, prefix, POLICY_METRICS.bulkheadQueued, (b) => b.queued);
      return { retries, rejected };
    } catch (error) {
      // Give back the metrics leased before the one that failed, so a failed boot leaves the registry as it was.
      this.release();
      throw error;
    }
  }

  private count(counter: Counter<string>, policy: string, label: string, value: string, by = 1): void {
    let series = this.counted.get(counter);
    if (series === undefined) this.counted.set(counter, (series = new Map()));
    const key = `${policy}\u0000${value}`;
    let labels = series.get(key);
    if (labels === undefined) series.set(key, (labels = { policy, [label]: value }));
    counter.inc(labels, by);
  }

  /**
   * A counter of the policies' events. At each scrape this app publishes at 0 the series of
   * the policies built since the last (all of them again after a reset of the counter), so a
   * policy's first event moves a series that was already there.
   */
  private counter(
    prom: typeof PromClient,
    registry: Registry,
    prefix: string,
    which: 'retries' | 'rejected',
  ): Counter<string> {
    const definition = POLICY_METRICS[which];
    const name = prefix + definition.name;
    const label = definition.labelNames[1];
    const atZero = new Set<Policies>();
    const contribution = (reset?: boolean): void => {
      if (reset === true) atZero.clear();
      for (const policies of this.policies.all()) {
        if (atZero.has(policies)) continue;
        atZero.add(policies);
        for (const value of POLICY_ZERO_SERIES[which](policies))
          this.count(counter, policies.name, label, value, 0);
      }
    };
    const lease = leaseMetric<Counter<string>, ((reset?: boolean) => void) | undefined>(
      registry,
      name,
      definition,
      (contributions) =>
        counterTellingResets(prom, registry, name, definition, (reset) => {
          for (const contribute of contributions()) contribute?.(reset);
        }),
      contribution,
    );
    this.leases.push(lease);
    // Named: the zero series' contribution above counts on it.
    const counter = lease.metric;
    return counter;
  }

  /** A gauge each app sets at scrape time for the bulkheads of its policies. */
  private gauge(
    prom: typeof PromClient,
    registry: Registry,
    prefix: string,
    definition: (typeof POLICY_METRICS)['bulkheadActive' | 'bulkheadQueued'],
    read: (bulkhead: { active: number; queued: number }) => number,
  ): void {
    const name = prefix + definition.name;
    const contribution = (gauge: Gauge<string>) => {
      for (const policies of this.policies.all()) {
        if (policies.bulkhead !== undefined) gauge.set({ policy: policies.name }, read(policies.bulkhead));
      }
    };
    const lease = leaseMetric<Gauge<string>, (gauge: Gauge<string>) => void>(
      registry,
      name,
      definition,
      (contributions) =>
        new prom.Gauge({
          name,
          help: definition.help,
          labelNames: definition.labelNames,
          registers: [registry],
          collect() {
            // Only policies of apps still running: a closed app's policies leave no series behind.
            this.reset();
            for (const contribute of contributions()) contribute(this);
          },
        }),
      contribution,
    );
    this.leases.push(lease);
  }
}
