'use strict';

/**
 * How each library is configured in every scenario, in one place so the README can quote it.
 *
 * The aim is equivalence with our defaults: a 60 s sliding time window, 30 s open duration,
 * no per-call timeout (ours has none by default; opossum's default 10 s timeout would add a
 * timer to every call, so it is switched off). Where a peer needs a setting to behave like
 * ours in a scenario (never open during the failure runs, open after one failure for the
 * OPEN runs), it gets it. Every choice that differs from a peer's defaults favours the peer.
 */

const CircuitBreaker = require('opossum');
const cockatiel = require('cockatiel');
const { Breaker } = require('../dist/core/breaker');

const WINDOW_MS = 60_000;
const OPEN_MS = 30_000;
/** Long enough that no OPEN breaker recovers during a run. */
const HOUR_MS = 3_600_000;

/**
 * opossum 9: no timeout (ours has none), a 60 s window in its default 10 buckets, and the
 * periodic `snapshot` off (it recomputes every statistic on a timer, which would land in
 * the other libraries' samples; it also saves opossum one interval timer per breaker).
 * Latency percentiles stay on, as by default.
 */
const OPOSSUM_BASE = Object.freeze({
  timeout: false,
  resetTimeout: OPEN_MS,
  rollingCountTimeout: WINDOW_MS,
  enableSnapshots: false,
});

/** cockatiel 3: the SamplingBreaker is its sliding time window (60 s in 1 s buckets). */
const cockatielSampling = (extra) =>
  cockatiel.circuitBreaker(cockatiel.handleAll, {
    halfOpenAfter: OPEN_MS,
    breaker: new cockatiel.SamplingBreaker({ threshold: 0.5, duration: WINDOW_MS, ...extra }),
  });

/**
 * Factories per library and role. `fn` is the protected function: opossum binds it at
 * construction (`fire()` calls it), the others receive it per call.
 */
const LIBS = {
  ours: {
    /** Defaults: 5 failures in a 60 s time window open it, 30 s open, no timeout. */
    closed: (name) => new Breaker(name),
    /** Never opens: the threshold cannot be reached. */
    failing: (name) => new Breaker(name, { failureThreshold: Number.MAX_SAFE_INTEGER }),
    /** Opens (automatically, not `trip()`) on its first failure and stays open. */
    opening: (name) => new Breaker(name, { failureThreshold: 1, openDuration: HOUR_MS }),
    isClosed: (b) => b.state === 'closed',
    isOpen: (b) => b.state === 'open',
    /** Outcomes in the window, as the breaker counts them. */
    windowCalls: (b) => b.snapshot().calls,
  },
  opossum: {
    closed: (name, fn) => new CircuitBreaker(fn, { ...OPOSSUM_BASE, name }),
    /** Opens only when the error rate is *above* the percentage, so 100 never opens. */
    failing: (name, fn, status) =>
      new CircuitBreaker(fn, { ...OPOSSUM_BASE, name, errorThresholdPercentage: 100, status }),
    opening: (name, fn) =>
      new CircuitBreaker(fn, { ...OPOSSUM_BASE, name, errorThresholdPercentage: 50, resetTimeout: HOUR_MS }),
    isClosed: (b) => b.closed,
    isOpen: (b) => b.opened,
    windowCalls: (b) => b.stats.fires,
    /**
     * opossum records every call's latency in its window and sorts them all on each failure,
     * so filling its window through `fire()` costs O(n² log n). Its documented `status`
     * option primes the window instead: `n` failed calls of 0 ms each (what a fast failure
     * measures with `Date.now()`).
     */
    primedStatus: (n) =>
      CircuitBreaker.newStatus({
        ...OPOSSUM_BASE,
        stats: { fires: n, failures: n, latencyTimes: new Array(n).fill(0) },
      }),
    dispose: (b) => b.shutdown(),
  },
  cockatiel: {
    closed: () => cockatielSampling({}),
    /** `minimumRps` above any real rate: the sampler never judges, so it never opens. */
    failing: () => cockatielSampling({ minimumRps: Number.MAX_SAFE_INTEGER }),
    /** The rejection path does not consult the breaker policy; the simplest one opens on one failure. */
    opening: () =>
      cockatiel.circuitBreaker(cockatiel.handleAll, {
        halfOpenAfter: HOUR_MS,
        breaker: new cockatiel.ConsecutiveBreaker(1),
      }),
    /** cockatiel's other common policy, for the memory comparison only. */
    consecutive: () =>
      cockatiel.circuitBreaker(cockatiel.handleAll, {
        halfOpenAfter: OPEN_MS,
        breaker: new cockatiel.ConsecutiveBreaker(5),
      }),
    isClosed: (b) => b.state === cockatiel.CircuitState.Closed,
    isOpen: (b) => b.state === cockatiel.CircuitState.Open,
    windowCalls: (b) => {
      const s = b.toJSON().breakerState;
      return s.currentFailures + s.currentSuccesses;
    },
  },
};

/** The configurations above in words, for RESULTS.md and results.json. */
const CONFIG_NOTES = {
  ours: 'new Breaker(name) (5 failures in a 60 s time window, 30 s open, no timeout); failure runs: failureThreshold MAX_SAFE_INTEGER; OPEN runs: failureThreshold 1, openDuration 1 h, opened by one failure',
  opossum: `new CircuitBreaker(fn, { timeout: false, resetTimeout: 30 s, rollingCountTimeout: 60 s (10 buckets), enableSnapshots: false }) (latency percentiles on, its default); failure runs: errorThresholdPercentage 100 (never opens), window primed through the documented status option; OPEN runs: errorThresholdPercentage 50, resetTimeout 1 h, opened by one failure`,
  cockatiel:
    'circuitBreaker(handleAll, { halfOpenAfter: 30 s, breaker: new SamplingBreaker({ threshold: 0.5, duration: 60 s }) }); failure runs: minimumRps MAX_SAFE_INTEGER (never opens); OPEN runs: ConsecutiveBreaker(1), halfOpenAfter 1 h, opened by one failure',
};

/** Versions actually loaded, for the report. */
function versions() {
  return {
    node: process.version,
    opossum: require('opossum/package.json').version,
    cockatiel: require('cockatiel/package.json').version,
    ours: require('../package.json').version,
  };
}

module.exports = { LIBS, CONFIG_NOTES, versions };
