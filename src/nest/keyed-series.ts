import type { Breaker } from '../core/breaker';
import type { RejectionReason } from '../core/breaker-events';
import { CIRCUIT_STATES, type CircuitState } from '../core/circuit-state';
import type { BreakerMetricSet } from './breaker-series';
import { CALL_OUTCOMES, ZERO_SERIES } from './metric-names';
import { flush, unflushedCount, type UnflushedCount } from './unflushed-count';

/**
 * The summary series of the per-key breakers kept under one name: how many are in each state
 * (read at scrape time), and their calls, rejections and transitions added up. Its number of
 * series is fixed, however many keys come and go: a scrape does not grow with request input.
 */
export class KeyedSeries {
  private readonly breakers = new Set<Breaker>();
  /** One child of `circuit_breaker_keys` per state, in `CIRCUIT_STATES` order. */
  private readonly keys;
  /** Per outcome, in `CALL_OUTCOMES` order. */
  private readonly calls: UnflushedCount[];
  private readonly rejected = {} as Record<RejectionReason, UnflushedCount>;
  /** The listeners every breaker of the name shares: one set per name, not per key. */
  private readonly onOutcome: Array<() => void>;
  private readonly onRejected: (event: { reason: RejectionReason }) => void;
  private readonly onStateChange: (event: { from: CircuitState; to: CircuitState }) => void;

  constructor(
    private readonly name: string,
    private readonly metrics: BreakerMetricSet,
    /** The rejection reasons the name's breakers can give, each with its series. */
    readonly reasons: readonly RejectionReason[],
  ) {
    this.keys = CIRCUIT_STATES.map((state) => metrics.keys.labels(name, state));
    this.calls = CALL_OUTCOMES.map((outcome) => unflushedCount(metrics.keyedCalls.labels(name, outcome)));
    for (const reason of this.reasons) {
      this.rejected[reason] = unflushedCount(metrics.keyedRejected.labels(name, reason));
    }
    for (const labels of ZERO_SERIES.transitions(name)) metrics.keyedTransitions.inc(labels, 0);
    this.onOutcome = this.calls.map((count) => () => {
      count.unflushed++;
    });
    this.onRejected = (event) => {
      this.rejected[event.reason].unflushed++;
    };
    this.onStateChange = ({ from, to }) => metrics.keyedTransitions.inc({ breaker: name, from, to });
    this.collectKeys();
  }

  /** Counts `breaker` from now on; returns the function that stops. */
  follow(breaker: Breaker): () => void {
    this.breakers.add(breaker);
    const unsubscribe = [
      ...CALL_OUTCOMES.map((outcome, i) => breaker.on(outcome, this.onOutcome[i])),
      breaker.on('rejected', this.onRejected),
      breaker.on('stateChange', this.onStateChange),
    ];
    return () => {
      this.breakers.delete(breaker);
      for (const off of unsubscribe) off();
    };
  }

  /** Sets the number of kept breakers in each state; reading `state` applies a due OPEN -> HALF_OPEN first. */
  collectKeys(): void {
    const counts = CIRCUIT_STATES.map(() => 0);
    for (const breaker of this.breakers) counts[CIRCUIT_STATES.indexOf(breaker.state)]++;
    this.keys.forEach((child, i) => child.set(counts[i]));
  }

  /** Adds the calls and rejections counted since the last scrape to the counters. */
  flushCounts(): void {
    for (const count of this.calls) flush(count);
    for (const reason of this.reasons) flush(this.rejected[reason]);
  }

  /** Removes every series of the name. */
  remove(): void {
    const { keys, keyedCalls, keyedRejected, keyedTransitions } = this.metrics;
    const breaker = this.name;
    for (const from of CIRCUIT_STATES) {
      keys.remove({ breaker, state: from });
      for (const to of CIRCUIT_STATES) if (to !== from) keyedTransitions.remove({ breaker, from, to });
    }
    for (const outcome of CALL_OUTCOMES) keyedCalls.remove({ breaker, outcome });
    for (const reason of this.reasons) keyedRejected.remove({ breaker, reason });
  }
}
