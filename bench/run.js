'use strict';

/**
 * `npm run bench`: runs every benchmark against the built library (`dist/`), opossum and
 * cockatiel, prints the table and writes bench/results.json and bench/RESULTS.md.
 *
 *   node bench/run.js [--only=success,failure_10k,failure_1m,open,inflight,memory,http,policies]
 *                     [--rounds=21] [--sample-ms=20] [--warmup-ms=300]   (per-call scenarios)
 *
 * (`--only=failure` selects both failure scenarios.)
 * Each part runs in its own child process: the per-call scenarios together (the libraries
 * alternate round by round), each library's memory figure in a fresh one, HTTP in another,
 * the policies (bench/policies.js) in another.
 */

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const prettier = require('prettier');
const { CONFIG_NOTES, versions } = require('./adapters');
const { listArg } = require('./args');
const { median } = require('./harness');
const { evaluateTargets } = require('./targets');
const { renderConsole, renderMarkdown } = require('./report');

const MEMORY_VARIANTS = ['ours', 'opossum', 'cockatiel', 'cockatiel-consecutive'];
const MEMORY_REPEATS = 3;

const only = listArg('only');
const wants = (part) => !only || only.some((o) => part === o || part.startsWith(`${o}_`));

/** Runs a bench script in a child process and parses the JSON it prints. */
function child(script, scriptArgs, nodeFlags = ['--expose-gc']) {
  const res = spawnSync(process.execPath, [...nodeFlags, path.join(__dirname, script), ...scriptArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
    timeout: 10 * 60_000,
  });
  if (res.status !== 0)
    throw new Error(
      `${script} ${scriptArgs.join(' ')} failed (status ${res.status}, ${res.signal ?? 'no signal'})`,
    );
  return JSON.parse(res.stdout.toString());
}

/** Medians of a few fresh processes per variant. */
function runMemory() {
  const runs = Object.fromEntries(MEMORY_VARIANTS.map((v) => [v, []]));
  for (let r = 0; r < MEMORY_REPEATS; r++) {
    for (const variant of MEMORY_VARIANTS) runs[variant].push(child('memory.js', [variant]));
  }
  return Object.fromEntries(
    Object.entries(runs).map(([variant, rs]) => [
      variant,
      { idle: median(rs.map((x) => x.idle)), used: median(rs.map((x) => x.used)) },
    ]),
  );
}

async function main() {
  const started = Date.now();
  const microArgs = process.argv
    .slice(2)
    .filter((a) => a.startsWith('--rounds=') || a.startsWith('--sample-ms=') || a.startsWith('--warmup-ms='));
  const microIds = ['success', 'failure_10k', 'failure_1m', 'open', 'inflight'].filter(wants);
  const result = {
    date: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      memoryGB: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    },
    versions: versions(),
    configs: CONFIG_NOTES,
    micro: null,
    memory: null,
    http: null,
    policies: null,
  };

  if (microIds.length > 0) result.micro = child('micro.js', [...microArgs, `--only=${microIds.join(',')}`]);
  if (wants('memory')) {
    process.stderr.write(`memory: ${MEMORY_VARIANTS.length} variants x ${MEMORY_REPEATS} processes ... `);
    const t0 = Date.now();
    result.memory = runMemory();
    process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  if (wants('http')) result.http = child('http.js', [], []);
  if (wants('policies')) result.policies = child('policies.js', ['--json']);

  result.targets = evaluateTargets(result);
  result.durationSeconds = Math.round((Date.now() - started) / 1000);

  // Written as the repository's Prettier config wants it, so `npm run lint` stays green.
  const resultsFile = path.join(__dirname, 'results.json');
  const prettierOptions = { ...(await prettier.resolveConfig(resultsFile)), filepath: resultsFile };
  fs.writeFileSync(resultsFile, await prettier.format(JSON.stringify(result), prettierOptions));
  fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), renderMarkdown(result));
  process.stdout.write(renderConsole(result));
  process.stdout.write(`\nwrote bench/results.json and bench/RESULTS.md (${result.durationSeconds} s)\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
