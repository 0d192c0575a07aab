'use strict';

/**
 * The policies around the breaker: `npm run bench:policies`
 * (`npm run build && node --expose-gc bench/policies.js [--rounds=15] [--calls=200000] [--json]`).
 *
 * - overhead per call on the success path of each core policy added to a bare breaker, and of
 *   the full stack, next to cockatiel's `wrap(retry, circuitBreaker, timeout, bulkhead)` (the
 *   Nest decorators add their own wrapper around it, as `@CircuitBreaker` does);
 * - rate limiter decisions per second (one bucket, 1,000 keys);
 * - what a retry budget does to the calls a dependency receives during an outage.
 *
 * Rounds alternate the contenders; medians and ratios to the bare breaker are printed.
 */

const { setImmediate } = require('node:timers');
const { numberArg } = require('./args');
const { Breaker } = require('../dist/core/breaker');
const { Policies } = require('../dist/core/policies/policies');

const SETTINGS = { rounds: numberArg('rounds', 15), calls: numberArg('calls', 200_000) };
const json = process.argv.includes('--json');
const log = (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const work = async () => 1;

/** ns per call of `run(fn)`, `calls` calls one after the other. */
async function nsPerCall(run) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < SETTINGS.calls; i++) await run(work);
  return Number(process.hrtime.bigint() - started) / SETTINGS.calls;
}

const benchBreaker = (options) => new Breaker('bench', { failureThreshold: 1_000_000, ...options });

function ours(options, breakerOptions) {
  const breaker = benchBreaker(breakerOptions);
  const policies = options === undefined ? undefined : new Policies('bench', options);
  if (policies === undefined) return (fn) => breaker.execute(fn);
  return (fn) => policies.execute(() => breaker.execute(fn));
}

function cockatiel() {
  const c = require('cockatiel');
  const policy = c.wrap(
    c.retry(c.handleAll, {
      maxAttempts: 3,
      backoff: new c.ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 }),
    }),
    c.circuitBreaker(c.handleAll, { halfOpenAfter: 30_000, breaker: new c.ConsecutiveBreaker(1_000_000) }),
    c.timeout(10_000, c.TimeoutStrategy.Cooperative),
    c.bulkhead(20, 50),
  );
  return (fn) => policy.execute(fn);
}

const FULL = {
  retry: { attempts: 3, delay: 200, maxDelay: 5_000 },
  timeout: 10_000,
  bulkhead: { maxConcurrent: 20, maxQueue: 50 },
  rateLimit: { limit: 1e12, interval: 1_000 },
};

/** The call path of a `@CircuitBreaker` method (without Nest's own wrapper). */
function decorated(breakerOptions) {
  const { callThroughBreaker } = require('../dist/nest/breaker-call');
  const breaker = benchBreaker(breakerOptions);
  return (fn) => callThroughBreaker(breaker, fn);
}

const CONTENDERS = {
  'bare breaker': ours(undefined),
  'breaker timeout (10 s)': ours(undefined, { timeout: 10_000 }),
  '@CircuitBreaker call path': decorated({}),
  '@CircuitBreaker call path, timeout (10 s)': decorated({ timeout: 10_000 }),
  '+ retry': ours({ retry: { attempts: 3 } }),
  '+ total timeout': ours({ timeout: 10_000 }),
  '+ bulkhead': ours({ bulkhead: { maxConcurrent: 20, maxQueue: 50 } }),
  '+ rate limit': ours({ rateLimit: { limit: 1e12, interval: 1_000 } }),
  'full stack (rate limit, bulkhead, timeout, retry)': ours(FULL),
  'full stack without rate limit': ours({ ...FULL, rateLimit: undefined }),
  'cockatiel wrap(retry, breaker, timeout, bulkhead)': cockatiel(),
};

async function overhead() {
  const names = Object.keys(CONTENDERS);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await nsPerCall(CONTENDERS[name]);
  for (let round = 0; round < SETTINGS.rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      samples[name].push(await nsPerCall(CONTENDERS[name]));
    }
  }
  const bare = samples['bare breaker'];
  const rows = names.map((name) => {
    // Ratio paired by round: the drift of a shared machine cancels out.
    const ratio = median(samples[name].map((ns, i) => ns / bare[i]));
    return { name, nsPerCall: median(samples[name]), ratioToBareBreaker: ratio };
  });
  log('success path, ns per call (median), ratio to the bare breaker (paired by round)');
  for (const r of rows)
    log(
      `  ${r.name.padEnd(52)} ${r.nsPerCall.toFixed(0).padStart(6)} ns  ${r.ratioToBareBreaker.toFixed(2)}x`,
    );
  return rows;
}

function rateLimiterDecisions() {
  const { RateLimiter } = require('../dist/core/policies/rate-limiter');
  const { systemTimers } = require('../dist/core/policies/timers');
  const result = {};
  for (const keys of [1, 1_000]) {
    const limiter = new RateLimiter(
      'bench',
      { limit: 1e12, interval: 1_000, burst: 1e12, scope: 'instance' },
      systemTimers,
      () => {},
    );
    const names = Array.from({ length: keys }, (_, i) => `tenant-${i}`);
    const n = 2_000_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) limiter.acquire(names[i % keys]);
    result[`${keys} key${keys === 1 ? '' : 's'}`] = n / (Number(process.hrtime.bigint() - started) / 1e9);
  }
  log('rate limiter decisions per second');
  for (const [name, perSecond] of Object.entries(result))
    log(`  ${name.padEnd(10)} ${(perSecond / 1e6).toFixed(1)} M/s`);
  return result;
}

/**
 * 10 s of outage at 1,000 calls/s on a simulated clock: every attempt fails. Downstream calls
 * with 3 retries, with and without the default budget (20% + 10/s).
 */
async function outage() {
  const run = async (budget) => {
    let now = 0;
    const timers = { now: () => now, setTimeout: (cb) => setImmediate(cb), clearTimeout: () => {} };
    const policies = new Policies(
      'outage',
      { retry: { attempts: 3, delay: 0, jitter: 'none', budget } },
      { timers },
    );
    let downstream = 0;
    const fail = async () => {
      downstream++;
      throw new Error('down');
    };
    const calls = 10_000;
    for (let i = 0; i < calls; i++) {
      now = i; // one call per ms
      await policies.execute(fail).catch(() => undefined);
    }
    return { calls, downstream, perCall: downstream / calls };
  };
  const result = { withoutBudget: await run(false), withBudget: await run(undefined) };
  log('outage: 10,000 failing calls over 10 s, 3 retries each');
  log(
    `  without budget: ${result.withoutBudget.downstream} downstream calls (${result.withoutBudget.perCall.toFixed(2)} per call)`,
  );
  log(
    `  with budget:    ${result.withBudget.downstream} downstream calls (${result.withBudget.perCall.toFixed(2)} per call)`,
  );
  return result;
}

async function main() {
  const result = { overhead: await overhead(), rateLimiter: rateLimiterDecisions(), outage: await outage() };
  if (json) process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
