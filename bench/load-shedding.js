'use strict';

/**
 * What load shedding costs per call, and proof that breakers without it pay nothing:
 *
 *   npm run bench:shed [-- --baseline=<dist of another build>] [--rounds=21] [--sample-ms=20]
 *
 * Scenarios, each run side by side in one process, rounds alternating:
 * - success: a CLOSED success through a breaker without `loadShed` (the core's success path),
 *   with `loadShed` while no more than `inFlight` calls run (one comparison), and with
 *   `loadShed` above `inFlight` on an idle loop (the comparison and one read of the sample).
 *   With `--baseline`, the same breaker without `loadShed` from that build too (e.g. the commit
 *   before load shedding, built into its own folder): the core success path must not move.
 * - shed: a call refused by `loadShed` (caught), beside an OPEN breaker's rejection.
 * Prints a table of medians and ratios.
 */

const path = require('node:path');
const { numberArg } = require('./args');
const { runScenario, pairedRatio } = require('./harness');

const baselineDir = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const ours = require(path.join(__dirname, '..', 'dist', 'core', 'index'));
const baseline = baselineDir && require(path.join(path.resolve(baselineDir), 'core', 'index'));

const ok = async () => 1;
const boom = async () => {
  throw new Error('boom');
};
/** Keeps one call running through `breaker` for the whole bench, so `inFlight: 0` is exceeded. */
const holdOne = (breaker) => void breaker.execute(() => new Promise(() => undefined));

const contender = (lib, body, prepare) => ({ lib, body, fields: ['b', 'fn'], prepare });

const SCENARIOS = [
  {
    id: 'success',
    title: 'CLOSED success, per call',
    contenders: [
      { lib: 'raw', body: 'await fn();', fields: ['fn'], prepare: () => ({ fn: ok }) },
      ...(baseline
        ? [
            contender('baseline build, unset', 'await b.execute(fn);', () => ({
              b: new baseline.Breaker('s'),
              fn: ok,
            })),
          ]
        : []),
      contender('loadShed unset', 'await b.execute(fn);', () => ({ b: new ours.Breaker('s'), fn: ok })),
      contender('loadShed, at most inFlight running', 'await b.execute(fn);', () => ({
        b: new ours.Breaker('s', { loadShed: { inFlight: 100 } }),
        fn: ok,
      })),
      contender('loadShed, above inFlight, loop idle', 'await b.execute(fn);', () => {
        const b = new ours.Breaker('s', { loadShed: { inFlight: 0, utilization: 1 } });
        holdOne(b);
        return { b, fn: ok };
      }),
    ],
  },
  {
    id: 'shed',
    title: 'Rejection, caught, per call',
    contenders: [
      contender('OPEN breaker', 'try { await b.execute(fn); } catch {}', async () => {
        const b = new ours.Breaker('o', { failureThreshold: 1 });
        await b.execute(boom).catch(() => undefined);
        return { b, fn: ok };
      }),
      contender('shed by loadShed', 'try { await b.execute(fn); } catch {}', () => {
        const b = new ours.Breaker(
          'l',
          { loadShed: { inFlight: 0 } },
          { loadSampler: { utilization: () => 1 } },
        );
        holdOne(b);
        return { b, fn: ok };
      }),
    ],
  },
];

async function main() {
  const settings = {
    rounds: numberArg('rounds', 21),
    sampleMs: numberArg('sample-ms', 20),
    warmupMs: numberArg('warmup-ms', 300),
  };
  const lines = [
    `Load shedding (medians of ${settings.rounds} rounds, ns per call; ratio to the first row)`,
    '',
  ];
  for (const scenario of SCENARIOS) {
    process.stderr.write(`load-shedding: ${scenario.title} ...\n`);
    const { results, problems } = await runScenario(scenario, settings);
    for (const p of problems) process.stderr.write(`  CHECK FAILED ${p}\n`);
    const first = scenario.contenders[0].lib;
    lines.push(`| ${scenario.title} | ns | × ${first} |`, '| --- | ---: | ---: |');
    for (const { lib } of scenario.contenders) {
      const ratio = pairedRatio(results, lib, first);
      lines.push(`| ${lib} | ${results[lib].median.toFixed(1)} | ${ratio.toFixed(2)}× |`);
    }
    lines.push('');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  // The samplers' timers are unref'd, the held calls never settle: nothing keeps the process alive.
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
