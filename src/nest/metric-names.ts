import type { RejectionReason } from '../core/breaker-events';
import type { ResolvedBreakerOptions } from '../core/breaker-options';
import { CircuitState } from '../core/circuit-state';
import type { Policies } from '../core/policies/policies';
import type { PolicyRejectionReason, RetryOutcome } from '../core/policies/policy-events';

/**
 * How a call a breaker let through ended. Each value is also the name of the breaker event
 * that reports it (a timed-out call emits `timeout` only, never `failure`).
 * @publicApi
 */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'ignored';

/** Every call outcome, in label order. */
export const CALL_OUTCOMES: readonly CallOutcome[] = ['success', 'failure', 'timeout', 'ignored'];

/** Every rejection reason, in label order. */
export const REJECTION_REASONS: readonly RejectionReason[] = [
  'open',
  'half_open_full',
  'forced_open',
  'load_shed',
];

/** The rejection reasons a breaker with these options can give: `load_shed` only with `loadShed` set. */
export function rejectionReasonsOf(options: ResolvedBreakerOptions): readonly RejectionReason[] {
  return options.loadShed === false ? STATE_REJECTION_REASONS : REJECTION_REASONS;
}

const STATE_REJECTION_REASONS = REJECTION_REASONS.filter((reason) => reason !== 'load_shed');

/**
 * The moves a breaker makes by itself, whose transition counters are published at 0 from the
 * start: increase() and rate() count a move only after a sample without it, and the flapping
 * alert counts these. Manual moves (trip, reset, disable) appear with the first of their kind.
 */
export const AUTOMATIC_TRANSITIONS: ReadonlyArray<{
  readonly from: CircuitState;
  readonly to: CircuitState;
}> = [
  { from: CircuitState.CLOSED, to: CircuitState.OPEN },
  { from: CircuitState.OPEN, to: CircuitState.HALF_OPEN },
  { from: CircuitState.HALF_OPEN, to: CircuitState.CLOSED },
  { from: CircuitState.HALF_OPEN, to: CircuitState.OPEN },
];

/**
 * The series a breaker publishes at 0 from its creation, in each of its counters, by its name
 * and the rejection reasons it can give: every call outcome, every reason, the moves it makes by
 * itself. The summary of a name's per-key breakers has the same in its `keyed` counters. A reset
 * of a counter (prom-client's `registry.resetMetrics()`) takes them out; its next scrape
 * publishes them at 0 again from here, so `increase()` still counts their next event.
 */
export const ZERO_SERIES = {
  calls: (breaker: string) => CALL_OUTCOMES.map((outcome) => ({ breaker, outcome })),
  rejected: (breaker: string, reasons: readonly RejectionReason[]) =>
    reasons.map((reason) => ({ breaker, reason })),
  transitions: (breaker: string) => AUTOMATIC_TRANSITIONS.map(({ from, to }) => ({ breaker, from, to })),
} satisfies Record<string, ZeroSeries>;

/** The series at 0 of a breaker (or summary) that can give `reasons`, in one counter. */
export type ZeroSeries = (
  breaker: string,
  reasons: readonly RejectionReason[],
) => ReadonlyArray<Record<string, string>>;

/**
 * Buckets of `circuit_breaker_call_duration_seconds`, in seconds: from cache lookups (5 ms)
 * to the 120 s of the `llm` preset's timeout, so every preset's calls land inside a bucket.
 */
export const CALL_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];

/** One Prometheus series family the library publishes. */
export interface BreakerMetricDefinition {
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** The name before `metrics.prefix` is prepended. */
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** Histogram buckets, in the metric's unit. */
  readonly buckets?: readonly number[];
}

/**
 * The Prometheus series the library publishes, in the order they are registered (and
 * scraped). `metrics.prefix` is prepended to each name. A named breaker has the first seven,
 * labelled with its name. Per-key breakers are summed up under the name they are kept under
 * in the four `keyed` ones (their number does not grow with keys); with `metrics.perKey` each
 * also has the first seven, labelled with its full name (`hosts#internal`).
 * @publicApi
 */
export const BREAKER_METRICS = {
  info: {
    type: 'gauge',
    name: 'circuit_breaker_info',
    help: 'Circuit breaker configuration, always 1: critical ("true" or "false") and preset ("" when none)',
    labelNames: ['breaker', 'critical', 'preset'],
  },
  state: {
    type: 'gauge',
    name: 'circuit_breaker_state',
    help: 'Circuit breaker state: 1 for the state the breaker is in now, 0 for the four others',
    labelNames: ['breaker', 'state'],
  },
  calls: {
    type: 'counter',
    name: 'circuit_breaker_calls_total',
    help: 'Calls a circuit breaker let through, by outcome (success, failure, timeout, ignored)',
    labelNames: ['breaker', 'outcome'],
  },
  rejected: {
    type: 'counter',
    name: 'circuit_breaker_rejected_total',
    help: 'Calls a circuit breaker rejected without running them, by reason (open, half_open_full, forced_open, load_shed)',
    labelNames: ['breaker', 'reason'],
  },
  callDuration: {
    type: 'histogram',
    name: 'circuit_breaker_call_duration_seconds',
    help: 'Duration of the calls a circuit breaker let through, by outcome',
    labelNames: ['breaker', 'outcome'],
    buckets: CALL_DURATION_BUCKETS,
  },
  transitions: {
    type: 'counter',
    name: 'circuit_breaker_transitions_total',
    help: 'State changes of a circuit breaker, automatic and manual',
    labelNames: ['breaker', 'from', 'to'],
  },
  failureRate: {
    type: 'gauge',
    name: 'circuit_breaker_failure_rate',
    help: 'Weighted failures / calls in the circuit breaker window (0..1), 0 when there were no calls',
    labelNames: ['breaker'],
  },
  keys: {
    type: 'gauge',
    name: 'circuit_breaker_keys',
    help: 'Per-key circuit breakers kept under a name, by the state they are in now',
    labelNames: ['breaker', 'state'],
  },
  keyedCalls: {
    type: 'counter',
    name: 'circuit_breaker_keyed_calls_total',
    help: 'Calls the per-key circuit breakers of a name let through, by outcome (success, failure, timeout, ignored)',
    labelNames: ['breaker', 'outcome'],
  },
  keyedRejected: {
    type: 'counter',
    name: 'circuit_breaker_keyed_rejected_total',
    help: 'Calls the per-key circuit breakers of a name rejected without running them, by reason',
    labelNames: ['breaker', 'reason'],
  },
  keyedTransitions: {
    type: 'counter',
    name: 'circuit_breaker_keyed_transitions_total',
    help: 'State changes of the per-key circuit breakers of a name, automatic and manual',
    labelNames: ['breaker', 'from', 'to'],
  },
  storeUp: {
    type: 'gauge',
    name: 'circuit_breaker_store_up',
    help: 'Whether the breaker store works now (1) or not (0): a shared store that is down leaves each instance deciding alone',
    labelNames: [],
  },
  storeErrors: {
    type: 'counter',
    name: 'circuit_breaker_store_errors_total',
    help: 'Store commands that failed or timed out, by operation',
    labelNames: ['operation'],
  },
  fleetInstances: {
    type: 'gauge',
    name: 'circuit_breaker_fleet_instances',
    help: 'Live instances sharing the store (redis), as the last heartbeat saw them',
    labelNames: [],
  },
} as const satisfies Record<string, BreakerMetricDefinition>;

/**
 * The Prometheus series of the policies around breakers (`@Retry`, `@Timeout`, `@Bulkhead`,
 * `@RateLimit`, `@Resilient`), each labelled with the policy: its name, or `Class.method` for
 * a decorator's. `metrics.prefix` is prepended to each name.
 * @publicApi
 */
export const POLICY_METRICS = {
  retries: {
    type: 'counter',
    name: 'resilience_retries_total',
    help: 'Failed attempts a retry policy handled, by outcome (retried, exhausted, budget_exhausted)',
    labelNames: ['policy', 'outcome'],
  },
  rejected: {
    type: 'counter',
    name: 'resilience_rejected_total',
    help: 'Calls a policy refused or ended, by reason (bulkhead_full, rate_limited, timeout)',
    labelNames: ['policy', 'reason'],
  },
  bulkheadActive: {
    type: 'gauge',
    name: 'resilience_bulkhead_active',
    help: 'Calls running in a bulkhead now',
    labelNames: ['policy'],
  },
  bulkheadQueued: {
    type: 'gauge',
    name: 'resilience_bulkhead_queued',
    help: 'Calls waiting for a bulkhead slot now',
    labelNames: ['policy'],
  },
} as const satisfies Record<string, BreakerMetricDefinition>;

/**
 * The series of a policy each of its counters publishes at 0 from the first scrape that sees
 * it (and again after a reset of the counter): what its protections can count, so that
 * `increase()` counts a policy's first retry, give-up or refusal.
 */
export const POLICY_ZERO_SERIES = {
  retries: ({ retry }: Policies): readonly RetryOutcome[] => {
    if (retry === undefined) return [];
    return retry.options.budget === false
      ? ['retried', 'exhausted']
      : ['retried', 'exhausted', 'budget_exhausted'];
  },
  rejected: ({ bulkhead, rateLimiter, timeout }: Policies): readonly PolicyRejectionReason[] => [
    ...(bulkhead === undefined ? [] : (['bulkhead_full'] as const)),
    ...(rateLimiter === undefined ? [] : (['rate_limited'] as const)),
    ...(timeout === undefined ? [] : (['timeout'] as const)),
  ],
};
