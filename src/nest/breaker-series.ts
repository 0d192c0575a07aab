import type { Counter, Gauge } from 'prom-client';
import type { Breaker } from '../core/breaker';
import type { RejectionReason } from '../core/breaker-events';
import { CIRCUIT_STATES } from '../core/circuit-state';
import { HistogramSeries } from './buffered-histogram';
import {
  AUTOMATIC_TRANSITIONS,
  CALL_DURATION_BUCKETS,
  CALL_OUTCOMES,
  rejectionReasonsOf,
} from './metric-names';
import { flush, unflushedCount, type UnflushedCount } from './unflushed-count';

/** The buckets of `circuit_breaker_call_duration_seconds` (a typed copy: reads from it are fast). */
const DURATION_BOUNDS = Float64Array.from(CALL_DURATION_BUCKETS);

/** The prom-client metric objects the series of every breaker live in. */
export interface BreakerMetricSet {
  readonly info: Gauge<string>;
  readonly state: Gauge<string>;
  readonly calls: Counter<string>;
  readonly rejected: Counter<string>;
  readonly transitions: Counter<string>;
  readonly failureRate: Gauge<string>;
  readonly keys: Gauge<string>;
  readonly keyedCalls: Counter<string>;
  readonly keyedRejected: Counter<string>;
  readonly keyedTransitions: Counter<string>;
}

/**
 * The series of one breaker. Labelled children are made once. Calls, rejections and call
 * durations are counted in plain numbers, handed to the counters and the histogram when they
 * are scraped: prom-client hashes the labels on every increment or observation (about half a
 * microsecond each), which a breaker's hot path should not pay per call.
 */
export class BreakerSeries {
  /** The labels of the breaker's `circuit_breaker_info` series; its options never change. */
  private readonly infoLabels: Record<'breaker' | 'critical' | 'preset', string>;
  private readonly info: Gauge.Internal<string>;
  /** One child per state, in `CIRCUIT_STATES` order. */
  private readonly stateChildren: Gauge.Internal<string>[];
  private readonly failureRate: Gauge.Internal<string>;
  /** Per outcome, in `CALL_OUTCOMES` order: the counter child and the calls not yet added to it. */
  private readonly calls: UnflushedCount[];
  private readonly rejected: Record<RejectionReason, UnflushedCount>;
  /** The rejection reasons the breaker can give, each with its series. */
  private readonly reasons: readonly RejectionReason[];
  /** Per outcome, in `CALL_OUTCOMES` order: the call durations. */
  readonly durations: HistogramSeries[];
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
    this.reasons = rejectionReasonsOf(breaker.options);
    for (const reason of this.reasons) {
      this.rejected[reason] = unflushedCount(metrics.rejected.labels(name, reason));
    }
    for (const move of AUTOMATIC_TRANSITIONS) metrics.transitions.inc({ breaker: name, ...move }, 0);
    this.durations = CALL_OUTCOMES.map(
      (outcome) => new HistogramSeries({ breaker: name, outcome }, DURATION_BOUNDS),
    );
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
    for (const reason of this.reasons) flush(this.rejected[reason]);
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
    const { info, state, calls, rejected, transitions, failureRate } = this.metrics;
    const breaker = this.breaker.name;
    info.remove(this.infoLabels);
    for (const from of CIRCUIT_STATES) {
      state.remove({ breaker, state: from });
      for (const to of CIRCUIT_STATES) if (to !== from) transitions.remove({ breaker, from, to });
    }
    for (const outcome of CALL_OUTCOMES) calls.remove({ breaker, outcome });
    for (const reason of this.reasons) rejected.remove({ breaker, reason });
    failureRate.remove({ breaker });
  }
}
