'use strict';

/** The goals of issue 2, each read off a run's results. A goal not measured in a run is `null`. */

const { pairedRatio } = require('./harness');

const ratio = (result, scenario, a, b) => {
  const s = result.micro?.scenarios[scenario];
  return s ? pairedRatio(s.results, a, b) : null;
};
const x = (v) => `${v.toFixed(2)}x`;

const TARGETS = [
  {
    id: 'success',
    goal: 'CLOSED success path at most 2x a raw `await fn()`',
    measure: (r) => ratio(r, 'success', 'ours', 'raw'),
    met: (v) => v <= 2,
    show: (v) => `${x(v)} raw`,
  },
  {
    id: 'failure',
    goal: 'failure path at most 1.2x a raw throw (worse of 10k and 1M failures in the window)',
    measure: (r) => {
      const low = ratio(r, 'failure_10k', 'ours', 'raw');
      const high = ratio(r, 'failure_1m', 'ours', 'raw');
      return low === null || high === null ? (low ?? high) : Math.max(low, high);
    },
    met: (v) => v <= 1.2,
    show: (v) => `${x(v)} raw throw`,
  },
  {
    id: 'failure_flat',
    goal: 'failure path flat whatever the traffic: ratio to raw at 1M within 15% of that at 10k',
    measure: (r) => {
      const low = ratio(r, 'failure_10k', 'ours', 'raw');
      const high = ratio(r, 'failure_1m', 'ours', 'raw');
      return low === null || high === null ? null : high / low;
    },
    met: (v) => v <= 1.15,
    show: (v) => `1M/10k = ${v.toFixed(2)}`,
  },
  {
    id: 'open',
    goal: 'OPEN rejection at least 4x cheaper than either peer',
    measure: (r) => {
      const o = ratio(r, 'open', 'opossum', 'ours');
      const c = ratio(r, 'open', 'cockatiel', 'ours');
      return o === null || c === null ? null : Math.min(o, c);
    },
    met: (v) => v >= 4,
    show: (v) => `${x(v)} cheaper than the faster peer`,
  },
  {
    id: 'memory',
    goal: 'at most 512 B per idle breaker (10,000 breakers)',
    measure: (r) => r.memory?.ours?.idle ?? null,
    met: (v) => v <= 512,
    show: (v) => `${v} B`,
  },
  {
    id: 'inflight',
    goal: '1,000 calls in flight through one breaker at 60% or more of raw throughput',
    measure: (r) => ratio(r, 'inflight', 'raw', 'ours'),
    met: (v) => v >= 0.6,
    show: (v) => `${(v * 100).toFixed(0)}% of raw`,
  },
];

function evaluateTargets(result) {
  return TARGETS.map((t) => {
    const value = t.measure(result);
    return value === null
      ? { id: t.id, goal: t.goal, value: null, shown: 'not measured', met: null }
      : { id: t.id, goal: t.goal, value, shown: t.show(value), met: t.met(value) };
  });
}

module.exports = { TARGETS, evaluateTargets };
