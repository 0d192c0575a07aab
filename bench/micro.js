'use strict';

/**
 * The per-call scenarios, run in one process with the libraries alternating round by round:
 * `node --expose-gc bench/micro.js [--only=ids] [--rounds=21] [--sample-ms=20] [--warmup-ms=300]`.
 * Prints JSON on stdout, progress on stderr.
 */

const { setImmediate } = require('node:timers');
const { LIBS } = require('./adapters');
const { numberArg, listArg } = require('./args');
const { runScenario } = require('./harness');

const ok = async () => 1;
const boom = async () => {
  throw new Error('boom');
};
/** Priming only: a pre-built error keeps the (untimed) filling of a window fast. */
const PRIMING_ERROR = new Error('priming');
const failFast = () => Promise.reject(PRIMING_ERROR);
/** Settles on the next turn of the event loop, like the fastest real I/O. */
const nextTick = () => new Promise((resolve) => setImmediate(resolve, 1));

/** Records `n` failures in a breaker's window through its normal call path. */
async function prime(breaker, n) {
  for (let i = 0; i < n; i++) {
    try {
      await breaker.execute(failFast);
    } catch {
      // every priming call fails by design
    }
  }
  return breaker;
}

/**
 * The least a breaker that sees each call's outcome can cost: it hands back a promise of its
 * own (the caller may leave it unhandled), settled by one reaction on the caller's. No state,
 * no window, no clock: what is left of a wrapper's cost once its logic is free.
 */
class Floor {
  constructor() {
    this.outcomes = 0;
    this.onValue = (value) => {
      this.outcomes++;
      return value;
    };
    // Passes the failure on the cheapest way measured: a thenable that rejects (a rethrow costs more).
    this.onError = (error) => {
      this.outcomes++;
      return { then: (_, reject) => reject(error) };
    };
  }

  execute(fn) {
    return fn().then(this.onValue, this.onError);
  }
}

const CALL = { ours: 'await b.execute(fn);', opossum: 'await b.fire();', cockatiel: 'await b.execute(fn);' };
const caught = (call) => `try { ${call} } catch {}`;

/**
 * The raw baseline and one contender per library, each built by `make(lib)`; with `floor`,
 * the floor of any wrapper too.
 */
function contenders({ rawBody, rawFn, wrap = (call) => call, make, check, floor = false }) {
  const raw = { lib: 'raw', body: rawBody, fields: ['fn'], prepare: () => ({ fn: rawFn }) };
  const floors = floor
    ? [
        {
          lib: 'floor',
          body: wrap('await b.execute(fn);'),
          fields: ['b', 'fn'],
          prepare: () => ({ b: new Floor(), fn: rawFn }),
        },
      ]
    : [];
  const libs = ['ours', 'opossum', 'cockatiel'].map((lib) => ({
    lib,
    body: wrap(CALL[lib]),
    fields: ['b', 'fn'],
    prepare: async () => ({ b: await make(lib), fn: rawFn }),
    check: check && ((ctx) => check(lib, ctx.b)),
    dispose: LIBS[lib].dispose && ((ctx) => LIBS[lib].dispose(ctx.b)),
  }));
  return [raw, ...floors, ...libs];
}

const stayedClosed = (lib, b) => (LIBS[lib].isClosed(b) ? null : 'breaker left CLOSED');

/** Failures at a given traffic: the window already holds `primed` failures. */
function failureScenario(primed, opts) {
  return {
    id: `failure_${primed >= 1e6 ? `${primed / 1e6}m` : `${primed / 1e3}k`}`,
    title: `Failure path, ${primed.toLocaleString('en')} failures already in the window`,
    baselineTitle: 'raw throw + catch',
    ...opts,
    contenders: contenders({
      rawBody: caught('await fn();'),
      rawFn: boom,
      wrap: caught,
      floor: true,
      make: (lib) =>
        lib === 'opossum'
          ? LIBS.opossum.failing(`failure-${lib}`, boom, LIBS.opossum.primedStatus(primed))
          : prime(LIBS[lib].failing(`failure-${lib}`), primed),
      check: (lib, b) => {
        if (!LIBS[lib].isClosed(b)) return 'breaker opened';
        const calls = LIBS[lib].windowCalls(b);
        return calls >= primed ? null : `window holds ${calls} calls, expected >= ${primed}`;
      },
    }),
  };
}

const SCENARIOS = [
  {
    id: 'success',
    title: 'CLOSED success path',
    baselineTitle: 'raw `await fn()`',
    contenders: contenders({
      rawBody: 'await fn();',
      rawFn: ok,
      make: (lib) => LIBS[lib].closed(`success-${lib}`, ok),
      check: stayedClosed,
      floor: true,
    }),
  },
  // A fresh breaker per round keeps the window at 10k-12k outcomes.
  failureScenario(10_000, { freshPerRound: true, maxCalls: 2_000 }),
  // One breaker primed once: the window grows from 1M by at most a few hundred thousand.
  failureScenario(1_000_000, { maxCalls: 5_000 }),
  {
    id: 'open',
    title: 'OPEN rejection, caught',
    baselineTitle: 'raw `await fn()`',
    contenders: contenders({
      rawBody: 'await fn();',
      rawFn: ok,
      wrap: caught,
      make: async (lib) => {
        // opossum binds its action at construction: it fails once, and is never called again.
        const b = LIBS[lib].opening(`open-${lib}`, boom);
        await (lib === 'opossum' ? b.fire() : b.execute(boom)).catch(() => undefined);
        return b;
      },
      check: (lib, b) => (LIBS[lib].isOpen(b) ? null : 'breaker is not OPEN'),
    }),
  },
  {
    id: 'inflight',
    title: '1,000 calls in flight through one breaker (fn settles on setImmediate)',
    baselineTitle: 'raw `await fn()`, 1,000 in flight',
    concurrency: 1_000,
    step: 1_000,
    // The same job for everyone, 50 calls per worker: starting 1,000 workers is then a small
    // and equal part of every sample.
    minCalls: 50_000,
    maxCalls: 50_000,
    contenders: contenders({
      rawBody: 'await fn();',
      rawFn: nextTick,
      make: (lib) => LIBS[lib].closed(`inflight-${lib}`, nextTick),
      check: stayedClosed,
      floor: true,
    }),
  },
];

async function main() {
  const settings = {
    rounds: numberArg('rounds', 21),
    sampleMs: numberArg('sample-ms', 20),
    warmupMs: numberArg('warmup-ms', 300),
  };
  const only = listArg('only');
  const out = { settings, scenarios: {} };
  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.id)) continue;
    const t0 = Date.now();
    process.stderr.write(`micro: ${scenario.title} ... `);
    const { results, problems } = await runScenario(scenario, settings);
    process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const p of problems) process.stderr.write(`  CHECK FAILED ${p}\n`);
    out.scenarios[scenario.id] = {
      title: scenario.title,
      baseline: scenario.baselineTitle,
      results,
      problems,
    };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
