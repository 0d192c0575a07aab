'use strict';

/**
 * What sharing breakers through Redis costs (`npm run bench:fleet`, against `dist/` and the
 * Redis at REDIS_URL [redis://127.0.0.1:6379]):
 *
 *   node --expose-gc bench/fleet.js [--rounds=15] [--sample-ms=20] [--warmup-ms=300] [--transitions=200]
 *
 * - success: a call through a CLOSED breaker on the redis store vs the memory store, side by
 *   side in one process, rounds alternating (target: <= 1.05x).
 * - propagation: from a transition on this process to it taking effect on two other processes
 *   (children on their own connections), over --transitions transitions, alternately an
 *   opening from a failure and a forced reset; p50 and p99 (target: p99 < 50 ms on loopback).
 * - half_open: a HALF_OPEN trial's admission on the redis store vs the memory store (one round
 *   trip to claim the lease), the added latency per trial.
 * - rate_limit: a call through a rate limit of scope `fleet` (one Lua script on Redis per call)
 *   vs scope `instance` (an in-process bucket), side by side, a limit that never refuses.
 *
 * Prints one JSON object of figures and a table.
 */

const { fork } = require('node:child_process');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: delay } = require('node:timers/promises');
const { numberArg } = require('./args');
const { median, pairedRatio, quantile, runScenario } = require('./harness');

const dist = path.join(__dirname, '..', 'dist');
const { BreakerRegistry } = require(path.join(dist, 'core', 'registry'));
const { MemoryStore } = require(path.join(dist, 'stores', 'memory.store'));
const { RedisStore } = require(path.join(dist, 'stores', 'redis', 'redis.store'));
const { Policies } = require(path.join(dist, 'core', 'policies', 'policies'));

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// The followers (children) share their parent's prefix.
const PREFIX = process.env.FLEET_BENCH_PREFIX ?? `nr-bench:${process.pid}:`;
const logger = { warn: () => {}, error: () => {}, log: () => {} };
const now = () => performance.timeOrigin + performance.now();

/** A registry on a store, attached: one instance of the fleet. */
async function instance(type, breakers, instanceId = `bench-${process.pid}`) {
  const store =
    type === 'redis'
      ? new RedisStore({ type: 'redis', url: REDIS_URL, keyPrefix: PREFIX, instanceId }, logger)
      : new MemoryStore();
  const registry = new BreakerRegistry({ breakers, auditLog: store.auditLog });
  await store.attach(registry);
  if (type === 'redis') await delay(50); // connected and subscribed
  return { registry, store };
}

/** Child role: follows `fleet` and reports when each transition takes effect here. */
async function follower() {
  const { registry } = await instance(
    'redis',
    { fleet: { failureThreshold: 1, openDuration: 3_600_000, resetCooldown: 0 } },
    `follower-${process.pid}`,
  );
  registry.get('fleet').on('stateChange', (e) => process.send({ to: e.to, at: now() }));
  // Gone with the parent, however it ended.
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}

async function successPath(settings) {
  const ok = () => 1;
  const contenders = ['memory', 'redis'].map((lib) => ({
    lib,
    fields: ['b', 'fn'],
    body: 'await b.execute(fn);',
    prepare: async () => {
      const { registry, store } = await instance(lib, { payments: {} });
      return { b: registry.get('payments'), fn: ok, store };
    },
    dispose: (ctx) => void ctx.store.close(),
  }));
  const { results } = await runScenario({ contenders }, settings);
  return {
    memoryNs: results.memory.median,
    redisNs: results.redis.median,
    ratio: pairedRatio(results, 'redis', 'memory'),
  };
}

async function propagation(transitions) {
  const env = { ...process.env, FLEET_BENCH_PREFIX: PREFIX };
  const children = [
    fork(path.join(__dirname, 'fleet.js'), ['--follower'], { env }),
    fork(path.join(__dirname, 'fleet.js'), ['--follower'], { env }),
  ];
  const heard = children.map(() => []);
  await Promise.all(
    children.map(
      (child, i) =>
        new Promise((resolve) => child.on('message', (m) => (m.ready ? resolve() : heard[i].push(m)))),
    ),
  );
  const { registry, store } = await instance('redis', {
    fleet: { failureThreshold: 1, openDuration: 3_600_000, resetCooldown: 0 },
  });
  const breaker = registry.get('fleet');
  const latencies = [];
  for (let t = 0; t < transitions; t++) {
    const to = t % 2 === 0 ? 'open' : 'closed';
    const started = now();
    if (to === 'open') await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    else await breaker.reset({ force: true });
    const deadline = Date.now() + 2_000;
    while (!heard.every((h) => h.some((m) => m.to === to && m.at >= started)) && Date.now() < deadline)
      await delay(1);
    const arrivals = heard.map((h) => h.find((m) => m.to === to && m.at >= started));
    if (arrivals.some((m) => m === undefined))
      throw new Error(`transition ${t} to ${to} did not reach every follower`);
    latencies.push(Math.max(...arrivals.map((m) => m.at - started)));
    for (const h of heard) h.length = 0;
  }
  for (const child of children) child.kill();
  await store.close();
  return {
    transitions,
    p50Ms: median(latencies),
    p99Ms: quantile(latencies, 0.99),
    maxMs: Math.max(...latencies),
  };
}

async function halfOpen(trials) {
  const out = {};
  for (const type of ['memory', 'redis']) {
    const { registry, store } = await instance(type, {
      trial: { failureThreshold: 1, openDuration: 20, resetCooldown: 0 },
    });
    const breaker = registry.get('trial');
    const times = [];
    while (times.length < trials) {
      await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
      await delay(40); // the open period passes, and the fleet has the opening
      const started = performance.now();
      // A trial the fleet is not ready for yet (its opening or last closing still on the way) is not timed.
      const admitted = await breaker
        .execute(() => 1)
        .then(
          () => true,
          () => false,
        );
      if (admitted) times.push((performance.now() - started) * 1000);
      await delay(10); // the fleet has the closing
    }
    await store.close();
    out[type] = median(times);
  }
  return { memoryUs: out.memory, redisUs: out.redis, addedUs: out.redis - out.memory };
}

async function rateLimit(settings) {
  const { store } = await instance('redis', {});
  // Never refuses: what is measured is the decision, not a refusal.
  const limit = { limit: 1e9, interval: 1_000 };
  const contenders = ['instance', 'fleet'].map((scope) => ({
    lib: scope,
    fields: ['p', 'fn'],
    body: 'await p.execute(fn);',
    prepare: async () => ({
      p: new Policies(
        `bench-${scope}`,
        { rateLimit: { ...limit, scope } },
        { sharedRateLimits: store.rateLimits },
        { fleetStore: true },
      ),
      fn: async () => 1,
    }),
  }));
  const { results } = await runScenario({ contenders }, settings);
  await store.close();
  return {
    instanceNs: results.instance.median,
    fleetNs: results.fleet.median,
    ratio: pairedRatio(results, 'fleet', 'instance'),
  };
}

async function main() {
  const settings = {
    rounds: numberArg('rounds', 15),
    sampleMs: numberArg('sample-ms', 20),
    warmupMs: numberArg('warmup-ms', 300),
  };
  const figures = {};
  figures.success = await successPath(settings);
  figures.propagation = await propagation(numberArg('transitions', 200));
  figures.halfOpen = await halfOpen(200);
  figures.rateLimit = await rateLimit(settings);
  const { createClient } = require('redis');
  const cleanup = createClient({ url: REDIS_URL });
  await cleanup.connect();
  const keys = await cleanup.keys(`${PREFIX}*`);
  if (keys.length > 0) await cleanup.del(keys);
  await cleanup.close();

  const f = figures;
  console.log(JSON.stringify(figures, null, 2));
  console.log(`
| Redis store vs memory store | memory | redis | |
| --- | ---: | ---: | ---: |
| success path of a CLOSED breaker | ${f.success.memoryNs.toFixed(0)} ns | ${f.success.redisNs.toFixed(0)} ns | ${f.success.ratio.toFixed(3)}x (target <= 1.05x) |
| HALF_OPEN trial admission + call | ${f.halfOpen.memoryUs.toFixed(1)} µs | ${f.halfOpen.redisUs.toFixed(1)} µs | +${f.halfOpen.addedUs.toFixed(0)} µs per trial |

| Rate limit per call | instance | fleet | fleet / instance |
| --- | ---: | ---: | ---: |
| a call through the limit | ${(f.rateLimit.instanceNs / 1000).toFixed(2)} µs | ${(f.rateLimit.fleetNs / 1000).toFixed(1)} µs | ${f.rateLimit.ratio.toFixed(0)}x |

| Propagation to two other processes (${f.propagation.transitions} transitions) | |
| --- | ---: |
| p50 | ${f.propagation.p50Ms.toFixed(2)} ms |
| p99 | ${f.propagation.p99Ms.toFixed(2)} ms (target < 50 ms) |
| max | ${f.propagation.maxMs.toFixed(2)} ms |`);
  process.exit(0);
}

if (process.argv.includes('--follower')) void follower();
else
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
