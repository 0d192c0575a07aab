'use strict';

/**
 * `npm run bench:runtimes`: the CLOSED success path and the OPEN rejection (bench/micro.js) on
 * every runtime CI tests, side by side in one run, against the built package:
 *
 *   node bench/runtimes.js [--passes=3] [--rounds=7] [--runtimes=node20,node22,node24,bun,deno]
 *
 * `node20` is the Node running this script; the others come from `scripts/runtimes.js install`.
 * The runtimes take turns, pass after pass, so that the machine's drift falls on all of them; a
 * ratio is the median over every round of every pass of the two samples in that round.
 * Prints a Markdown table (the one in bench/README.md).
 */

const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');
const { listArg, numberArg } = require('./args');
const { median, pairedRatio } = require('./harness');

const MICRO = path.join(__dirname, 'micro.js');
const RUNTIMES_JS = path.join(__dirname, '..', 'scripts', 'runtimes.js');

/** How each runtime starts micro.js with a full GC available. */
const COMMANDS = {
  node20: () => [process.execPath, '--expose-gc', MICRO],
  node22: () => [binary('node22'), '--expose-gc', MICRO],
  node24: () => [binary('node24'), '--expose-gc', MICRO],
  bun: () => [binary('bun'), MICRO],
  deno: () => [binary('deno'), 'run', '-A', '--v8-flags=--expose-gc', MICRO],
};

function binary(name) {
  execFileSync(process.execPath, [RUNTIMES_JS, 'install', name], { stdio: 'inherit' });
  return execFileSync(process.execPath, [RUNTIMES_JS, 'path', name]).toString().trim();
}

/** `Node 22.23.5`, `Bun 1.4.5`, `Deno 2.9.6`. */
function label(name, [bin]) {
  const printed = execFileSync(bin, ['--version']).toString().split('\n')[0].trim();
  const number = /\d+\.\d+\.\d+/.exec(printed)[0];
  return `${name.startsWith('node') ? 'Node' : name[0].toUpperCase() + name.slice(1)} ${number}`;
}

function runMicro([bin, ...args], rounds) {
  const res = spawnSync(bin, [...args, '--only=success,open', `--rounds=${rounds}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
    timeout: 5 * 60_000,
  });
  if (res.status !== 0)
    throw new Error(`${bin} ${MICRO} failed (status ${res.status}, ${res.signal ?? 'no signal'})`);
  return JSON.parse(res.stdout.toString());
}

/** Joins the passes of one runtime: every lib's samples, round by round, as one long run. */
function pooled(passes, scenario) {
  const results = {};
  for (const pass of passes) {
    for (const [lib, r] of Object.entries(pass.scenarios[scenario].results)) {
      (results[lib] ??= { samples: [] }).samples.push(...r.samples);
    }
  }
  for (const r of Object.values(results)) r.median = median(r.samples);
  return results;
}

const ns = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} µs` : `${v.toFixed(0)} ns`);
const x = (v) => `${v.toFixed(v >= 10 ? 1 : 2)}×`;

function main() {
  const names = listArg('runtimes') ?? Object.keys(COMMANDS);
  const passes = numberArg('passes', 3);
  const rounds = numberArg('rounds', 7);
  const commands = Object.fromEntries(names.map((name) => [name, COMMANDS[name]()]));
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  for (let pass = 0; pass < passes; pass++) {
    for (const name of names) {
      process.stderr.write(`pass ${pass + 1}/${passes}, ${name}\n`);
      runs[name].push(runMicro(commands[name], rounds));
    }
  }

  const lines = [
    '| Runtime | raw `await fn()` | CLOSED success, ours | × raw (floor) | OPEN rejection, ours | opossum / ours | cockatiel / ours |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const name of names) {
    const success = pooled(runs[name], 'success');
    const open = pooled(runs[name], 'open');
    lines.push(
      `| ${label(name, commands[name])} | ${ns(success.raw.median)} | ${ns(success.ours.median)} | ` +
        `${x(pairedRatio(success, 'ours', 'raw'))} (${x(pairedRatio(success, 'floor', 'raw'))}) | ` +
        `${ns(open.ours.median)} | ${x(pairedRatio(open, 'opossum', 'ours'))} | ${x(pairedRatio(open, 'cockatiel', 'ours'))} |`,
    );
  }
  process.stdout.write(
    `${lines.join('\n')}\n\n${passes} passes × ${rounds} rounds per runtime, ${new Date().toISOString()}\n`,
  );
}

main();
