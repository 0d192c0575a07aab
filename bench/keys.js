'use strict';

/**
 * What per-key breakers cost as keys come and go, and what metrics cost per call:
 *
 *   npm run build && node --expose-gc bench/keys.js [--baseline=<dist of another build>] [--only=ids]
 *                                                    [--rounds=15] [--sample-ms=20] [--warmup-ms=300]
 *
 * With `--baseline`, every scenario also runs against that build (e.g. the last commit before a
 * change, built into its own folder), side by side in one process, rounds alternating. Writes
 * bench/KEYS.md and prints it.
 *
 * - new_key_*: a call on a key never seen, 1,000 keys kept (every call evicts one), metrics
 *   off, on (per-key breakers summed up under their name) and on with `perKey`.
 * - evict_open_*: a new key while 1,000 or 10,000 open per-key breakers are kept.
 * - metrics_call: a call through a named breaker with metrics on, and off.
 * - Then one scrape and one health probe with 1,000 per-key breakers: their size and time.
 */

const fs = require('node:fs');
const path = require('node:path');
const { listArg, numberArg } = require('./args');
const { runScenario, pairedRatio, median } = require('./harness');

const baselineDir = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const builds = { ours: path.join(__dirname, '..', 'dist') };
if (baselineDir) builds.baseline = path.resolve(baselineDir);

/** The modules of one build. */
function load(dist) {
  return {
    BreakerRegistry: require(path.join(dist, 'core', 'registry')).BreakerRegistry,
    BreakerMetrics: require(path.join(dist, 'nest', 'breaker.metrics')).BreakerMetrics,
    BreakerHealthIndicator: require(path.join(dist, 'terminus', 'breaker.health')).BreakerHealthIndicator,
  };
}

const prom = require('prom-client');
const { HealthIndicatorService } = require('@nestjs/terminus');

const HOUR = 3_600_000;
const ok = async () => 1;
const boom = async () => {
  throw new Error('down');
};

/**
 * A registry of one build, its metrics published to a registry of its own when `metrics` is
 * given (`{ perKey }`); `disposers` collects what stops them.
 */
function registryOf(build, { metrics, maxKeysPerBreaker = 1_000, disposers }) {
  const { BreakerRegistry, BreakerMetrics } = build;
  const registry = new BreakerRegistry({
    breakers: { hosts: { failureThreshold: 1, openDuration: HOUR }, payments: {} },
    maxKeysPerBreaker,
  });
  let promRegistry;
  if (metrics) {
    promRegistry = new prom.Registry();
    const publisher = new BreakerMetrics(registry, { metrics: { registry: promRegistry, ...metrics } });
    publisher.onModuleInit();
    disposers.push(() => publisher.onModuleDestroy());
  }
  return { registry, promRegistry };
}

async function fillKeys(registry, count, open) {
  for (let i = 0; i < count; i++) {
    const breaker = registry.get('hosts', `kept-${i}`);
    if (open) await breaker.execute(boom).catch(() => undefined);
    else await breaker.execute(ok);
  }
}

/** Options no other build knows: the baseline skips variants that set them. */
const NEW_OPTIONS = ['perKey'];

/** One contender per build and variant. */
function contenders(variants, { body, prepare }) {
  const out = [];
  for (const [buildName, dist] of Object.entries(builds)) {
    const build = load(dist);
    for (const [variant, options] of Object.entries(variants)) {
      if (buildName === 'baseline' && NEW_OPTIONS.some((o) => options?.[o] !== undefined)) continue;
      const disposers = [];
      out.push({
        lib: `${buildName}, ${variant}`,
        body,
        fields: ['r', 'fn', 's'],
        prepare: () => prepare(build, options, disposers),
        dispose: () => disposers.splice(0).forEach((d) => d()),
      });
    }
  }
  return out;
}

const SCENARIOS = [
  {
    id: 'new_key',
    title: 'A call on a new key, 1,000 keys kept (each call evicts one)',
    contenders: contenders(
      { 'metrics off': null, 'metrics on': {}, 'metrics on, perKey': { perKey: true } },
      {
        body: "await r.get('hosts', 'new-' + s.i++).execute(fn);",
        prepare: async (build, metrics, disposers) => {
          const { registry } = registryOf(build, { metrics, disposers });
          await fillKeys(registry, 1_000, false);
          return { r: registry, fn: ok, s: { i: 0 } };
        },
      },
    ),
  },
  ...[1_000, 10_000].map((kept) => ({
    id: `evict_open_${kept / 1_000}k`,
    title: `A new key while ${kept.toLocaleString('en')} open per-key breakers are kept`,
    maxCalls: 20_000,
    contenders: contenders(
      { 'metrics off': null },
      {
        body: "r.get('hosts', 'new-' + s.i++);",
        prepare: async (build, metrics, disposers) => {
          const { registry } = registryOf(build, { metrics, maxKeysPerBreaker: kept, disposers });
          await fillKeys(registry, kept, true);
          return { r: registry, fn: ok, s: { i: 0 } };
        },
      },
    ),
  })),
  {
    id: 'metrics_call',
    title: 'A call through a named breaker (CLOSED, success)',
    contenders: contenders(
      { 'metrics off': null, 'metrics on': {} },
      {
        body: 'await r.execute(fn);',
        prepare: async (build, metrics, disposers) => {
          const { registry } = registryOf(build, { metrics, disposers });
          return { r: registry.get('payments'), fn: ok, s: null };
        },
      },
    ),
  },
];

/** Bytes and ms of one scrape and one health probe with 1,000 per-key breakers (10 of them open). */
async function sizes() {
  const rows = [];
  for (const [buildName, dist] of Object.entries(builds)) {
    const build = load(dist);
    for (const [variant, metrics] of Object.entries({ default: {}, perKey: { perKey: true } })) {
      if (buildName === 'baseline' && NEW_OPTIONS.some((o) => metrics[o] !== undefined)) continue;
      const disposers = [];
      const { registry, promRegistry } = registryOf(build, { metrics, disposers });
      await fillKeys(registry, 990, false);
      for (let i = 0; i < 10; i++)
        await registry
          .get('hosts', `bad-${i}`)
          .execute(boom)
          .catch(() => undefined);
      const scrapeMs = [];
      let scrape = '';
      for (let i = 0; i < 5; i++) {
        const t0 = process.hrtime.bigint();
        scrape = await promRegistry.metrics();
        scrapeMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const health = new build.BreakerHealthIndicator(new HealthIndicatorService(), registry);
      const probe = JSON.stringify(health.isHealthy());
      rows.push({
        build: `${buildName}, metrics ${variant}`,
        series: scrape.split('\n').filter((l) => l && !l.startsWith('#')).length,
        scrapeKB: scrape.length / 1024,
        scrapeMs: median(scrapeMs),
        healthKB: probe.length / 1024,
      });
      disposers.forEach((d) => d());
    }
  }
  return rows;
}

const fmt = (ns) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);

async function main() {
  const settings = {
    rounds: numberArg('rounds', 15),
    sampleMs: numberArg('sample-ms', 20),
    warmupMs: numberArg('warmup-ms', 300),
  };
  const lines = [
    '# Per-key breakers and metrics: cost per call',
    '',
    `Node ${process.version}; ${new Date().toISOString()}. Generated by \`node --expose-gc bench/keys.js\`` +
      (baselineDir ? ` with \`--baseline=${baselineDir}\`` : '') +
      '. Medians over alternating rounds; "x first" is the median over rounds of the ratio to the first row, timed in the same round.',
  ];
  const only = listArg('only');
  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.id)) continue;
    process.stderr.write(`keys: ${scenario.title} ... `);
    const t0 = Date.now();
    const { results, problems } = await runScenario(scenario, settings);
    process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const [first] = Object.keys(results);
    lines.push(
      '',
      `## ${scenario.title}`,
      '',
      '| build, variant | median / call | p25 - p75 | x first |',
      '| --- | ---: | ---: | ---: |',
    );
    for (const [lib, r] of Object.entries(results)) {
      lines.push(
        `| ${lib} | ${fmt(r.median)} | ${fmt(r.p25)} - ${fmt(r.p75)} | ${pairedRatio(results, lib, first).toFixed(2)}x |`,
      );
    }
    for (const p of problems) lines.push(`CHECK FAILED ${p}`);
  }
  lines.push(
    '',
    '## One scrape and one health probe, 1,000 per-key breakers (10 open)',
    '',
    '| build, metrics | samples | scrape | scrape time | health answer |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  for (const row of await sizes()) {
    lines.push(
      `| ${row.build} | ${row.series} | ${row.scrapeKB.toFixed(1)} KB | ${row.scrapeMs.toFixed(1)} ms | ${row.healthKB.toFixed(1)} KB |`,
    );
  }
  const text = `${lines.join('\n')}\n`;
  fs.writeFileSync(path.join(__dirname, 'KEYS.md'), text);
  process.stdout.write(text);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
