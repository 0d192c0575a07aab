'use strict';

/**
 * Timing machinery: loops compiled per contender, calibration, warm-up and alternating
 * rounds. Medians, not means: a shared 2-core machine has pauses that only ever add time.
 */

const { hrtime } = require('node:process');

/** Warm-up samples per contender at least: enough for calls per sample to settle from 1. */
const WARMUP_SAMPLES = 6;

/**
 * Compiles the timing loop of one contender. Each loop is its own function literal (via
 * `new Function`), so V8 keeps separate type feedback per library: a shared loop would see
 * every library's objects at one call site, go megamorphic, and slow everyone down alike,
 * hiding differences. `body` is one call written against the context's fields.
 *
 * With `concurrency`, that many workers each run `body` until `n` calls were started in all.
 */
function compileLoop(body, fields, concurrency) {
  const unpack = fields.map((f) => `const ${f} = c.${f};`).join(' ');
  const source = concurrency
    ? `'use strict'; return async function sample(c, n) { ${unpack}
         let left = n;
         const worker = async () => { while (left-- > 0) { ${body} } };
         const workers = new Array(${concurrency});
         for (let w = 0; w < ${concurrency}; w++) workers[w] = worker();
         await Promise.all(workers);
       };`
    : `'use strict'; return async function sample(c, n) { ${unpack}
         for (let i = 0; i < n; i++) { ${body} }
       };`;
  return new Function(source)();
}

/** A full GC: `gc()` under `--expose-gc` (Node, Deno's `--v8-flags=--expose-gc`), `Bun.gc(true)` on Bun. */
const collectGarbage = () => {
  if (typeof globalThis.gc === 'function') globalThis.gc();
  else if (typeof globalThis.Bun?.gc === 'function') globalThis.Bun.gc(true);
  else throw new Error('run with node --expose-gc');
};

/**
 * Runs one sample of `n` calls; returns ns per call. No forced GC before it: a forced full GC
 * shrinks the young generation, and the sample then pays for many more scavenges (up to 2x
 * the time per call for allocation-heavy paths). Garbage is collected as it comes, so each
 * contender pays mostly for its own.
 */
async function timeSample(sample, ctx, n) {
  const t0 = hrtime.bigint();
  await sample(ctx, n);
  return Number(hrtime.bigint() - t0) / n;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/**
 * How many times slower `a` is than `b` in one scenario: the median, over rounds, of the
 * ratio of their samples in the same round. Pairing by round cancels most of the drift of a
 * shared machine's load, which a ratio of the two medians would keep.
 */
function pairedRatio(results, a, b) {
  const xs = results[a]?.samples;
  const ys = results[b]?.samples;
  if (!xs || !ys) return null;
  return median(xs.map((x, i) => x / ys[i]));
}

/**
 * Runs one scenario.
 * - `contenders`: `{ lib, body, fields, prepare() -> ctx, check?(ctx) -> string | null, dispose?(ctx) }`
 * - `freshPerRound`: call `prepare()` again before every round (keeps a primed window at its size).
 * - `minCalls` / `maxCalls`: bounds on calls per sample; `step`: calls per sample are a multiple of it.
 *
 * Warm-up runs every contender in alternation for `warmupMs` (and 6 samples at least) and settles,
 * per contender, the calls per sample that take about `sampleMs`. Then `rounds` rounds each time one
 * sample per contender, the starting contender rotating from round to round so none is
 * always first after a GC-heavy neighbour.
 */
async function runScenario(scenario, settings) {
  const {
    contenders,
    freshPerRound = false,
    minCalls = 1,
    maxCalls = Infinity,
    step = 1,
    concurrency,
  } = scenario;
  const { rounds, sampleMs, warmupMs } = settings;
  const entries = contenders.map((c) => ({
    ...c,
    sample: compileLoop(c.body, c.fields, concurrency),
    ctx: null,
    n: Math.max(step, minCalls),
    ns: [],
  }));
  if (!freshPerRound) for (const e of entries) e.ctx = await e.prepare();
  // What earlier scenarios and priming left behind is not this scenario's cost.
  collectGarbage();
  const ctxOf = async (e) => (freshPerRound ? e.prepare() : e.ctx);

  // Warm-up doubles as calibration: after each sample, the calls per sample are re-aimed at
  // `sampleMs`, so the figure used for the timed rounds comes from code that is already hot.
  // Aimed with the fastest sample seen: a slow one was slowed by something else, and would
  // leave samples too short.
  const aim = (e, ns) => {
    e.fastest = Math.min(e.fastest ?? Infinity, ns);
    const wanted = Math.ceil((sampleMs * 1e6) / e.fastest / step) * step;
    e.n = Math.min(maxCalls, Math.max(step, minCalls, wanted));
  };
  const warmupEnd = Date.now() + warmupMs;
  for (let i = 0; i < WARMUP_SAMPLES || Date.now() < warmupEnd; i++) {
    for (const e of entries) {
      const ctx = await ctxOf(e);
      aim(e, await timeSample(e.sample, ctx, e.n));
      if (freshPerRound) e.dispose?.(ctx);
    }
  }

  const problems = [];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < entries.length; k++) {
      const e = entries[(r + k) % entries.length];
      const ctx = await ctxOf(e);
      e.ns.push(await timeSample(e.sample, ctx, e.n));
      const problem = e.check?.(ctx);
      if (problem) problems.push(`${e.lib}: ${problem}`);
      if (freshPerRound) e.dispose?.(ctx);
    }
  }
  if (!freshPerRound) for (const e of entries) e.dispose?.(e.ctx);

  const results = {};
  for (const e of entries) {
    results[e.lib] = {
      median: median(e.ns),
      p25: quantile(e.ns, 0.25),
      p75: quantile(e.ns, 0.75),
      callsPerSample: e.n,
      samples: e.ns.map((x) => Math.round(x * 100) / 100),
    };
  }
  return { results, problems: [...new Set(problems)] };
}

module.exports = { runScenario, median, quantile, pairedRatio, collectGarbage };
