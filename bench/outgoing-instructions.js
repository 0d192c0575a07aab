'use strict';

/**
 * The client's CPU instructions per request, with and without the origin breakers, counted by
 * valgrind: `npm run bench:http:instructions` (or `npm run build && node
 * bench/outgoing-instructions.js [--requests=6000] [--warmup=6000] [--repeats=3]
 * [--suites=fetch,HttpService,fetch in-process,axios in-process]`). Needs valgrind (Debian:
 * `apt-get install valgrind`); ~40 minutes.
 *
 * Wall-clock throughput on a shared VM moves by ±5–10% between two rounds of the same client
 * (`outgoing-http.js`), which hides a difference of a few percent. An instruction count moves far
 * less with the VM's load: each client of `outgoing-clients.js` runs in a process of its own
 * under `valgrind --tool=cachegrind` (V8 run with `--predictable`: no background compiler or GC
 * threads, fixed seeds), sends `--warmup` requests, then `--requests` more,
 * 16 at a time over loopback keep-alive, to the same upstream (not under valgrind). The same
 * client is run again with no requests after its warm-up; the difference of the two counts,
 * divided by `--requests`, is its instructions per request, start-up and warm-up left out. That
 * is done `--repeats` times; a client's figure is the median, and the spread its lowest and
 * highest. `plain (again)` is plain once more: how far a count moves (how many requests the
 * event loop finds ready at once varies with the upstream's timing). The in-process suites send
 * the same requests to transports that answer with no connection (`IN_PROCESS`): no upstream's
 * timing enters their counts (V8's collector, which plans by time too, still moves them: see
 * bench/README.md).
 *
 * For a client that is CPU-bound, as these are on loopback, plain's instructions per request
 * over a client's is the throughput ratio the protection allows, at equal instructions per
 * cycle: it leaves out cache misses (the protection's own allocations, +0.5–1.2 KB per request,
 * cost the garbage collector beyond its instructions) and time spent waiting.
 */

const { spawn, spawnSync } = require('node:child_process');
const { numberArg, listArg, choicesArg } = require('./args');
const { CLIENTS, IN_PROCESS, answerInProcess, startUpstream } = require('./outgoing-clients');

const SETTINGS = {
  requests: numberArg('requests', 6_000, 1),
  warmup: numberArg('warmup', 6_000),
  repeats: numberArg('repeats', 3, 1),
};

/** Each suite's clients by label, made against the upstream's origin (which in-process ones ignore). */
const SUITES = {
  ...CLIENTS,
  'fetch in-process': async () => {
    await answerInProcess();
    return IN_PROCESS.fetch();
  },
  'axios in-process': IN_PROCESS.axios,
};

const CONCURRENCY = 16;

/** Sends `count` requests with `send`, `CONCURRENCY` at a time. */
async function sendRequests(send, count) {
  for (let sent = 0; sent < count; sent += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count - sent) }, send));
  }
}

/** One client of `suite` in this process, under valgrind (a child of `countInstructions`). */
async function runClient(suite, label, origin) {
  const send = (await SUITES[suite](origin))[label];
  await sendRequests(send, SETTINGS.warmup);
  await sendRequests(send, numberArg('count', 0));
}

/** The instructions a client process of `suite` executes in all, sending `count` requests after its warm-up. */
function countInstructions(suite, label, origin, count) {
  const args = [
    '--tool=cachegrind',
    '--cache-sim=no',
    '--cachegrind-out-file=/dev/null',
    process.execPath,
    '--predictable',
    '--random-seed=1',
    '--hash-seed=1',
    process.argv[1],
    `--client=${suite},${label}`,
    `--origin=${origin}`,
    `--warmup=${SETTINGS.warmup}`,
    `--count=${count}`,
  ];
  const child = spawn('valgrind', args, { stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const total = /I\s+refs:\s+([\d,]+)/.exec(stderr);
      if (code !== 0 || total === null) reject(new Error(`${suite} ${label}: exit ${code}\n${stderr}`));
      else resolve(Number(total[1].replaceAll(',', '')));
    }),
  );
}

/** A client's instructions per request: its count with `--requests` requests, less its count with none. */
async function perRequest(suite, label, origin) {
  const [idle, busy] = await Promise.all([
    countInstructions(suite, label, origin, 0),
    countInstructions(suite, label, origin, SETTINGS.requests),
  ]);
  return (busy - idle) / SETTINGS.requests;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const thousands = (n) => `${(n / 1000).toFixed(1)}k`;

/** Every client of `suite`, `--repeats` times (each time all of them in turn); prints its table. */
async function compare(suite, origin) {
  // This process sends no requests: making the clients (and installing the in-process fetch's
  // transport) only lists their labels.
  const labels = Object.keys(await SUITES[suite](origin));
  const counts = labels.map(() => []);
  for (let repeat = 0; repeat < SETTINGS.repeats; repeat++) {
    for (const [i, label] of labels.entries()) counts[i].push(await perRequest(suite, label, origin));
  }
  const plain = median(counts[0]);
  console.log(
    `${suite}: client instructions per request (median, lowest–highest), the difference to plain, ` +
      `and plain's / the client's`,
  );
  for (const [i, label] of labels.entries()) {
    const ownCount = median(counts[i]);
    const spread = `${thousands(Math.min(...counts[i]))}–${thousands(Math.max(...counts[i]))}`;
    const difference = ownCount - plain;
    console.log(
      `  ${label.padEnd(38)} ${thousands(ownCount).padStart(7)} (${spread})` +
        (i === 0
          ? ''
          : `  ${difference < 0 ? '−' : '+'}${thousands(Math.abs(difference))}  ${(plain / ownCount).toFixed(3)}×`),
    );
  }
}

async function main() {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    throw new Error(
      'bench/outgoing-instructions.js needs valgrind on the PATH (Debian: apt-get install valgrind)',
    );
  }
  const upstream = await startUpstream([process.execPath]);
  try {
    console.log(
      `${SETTINGS.repeats} repeats; each client under valgrind sends ${SETTINGS.warmup} requests to warm up, ` +
        `then ${SETTINGS.requests}, ${CONCURRENCY} at a time, over loopback keep-alive (in-process: no connection)`,
    );
    for (const suite of CHOSEN) await compare(suite, upstream.origin);
  } finally {
    upstream.child.kill();
  }
}

const CHOSEN = choicesArg('suites', Object.keys(SUITES));
const client = listArg('client');
if (client === undefined) {
  main().catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
} else void runClient(client[0], client.slice(1).join(','), listArg('origin')[0]);
