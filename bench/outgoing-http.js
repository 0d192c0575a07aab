'use strict';

/**
 * Outgoing HTTP through the origin breakers, side by side with the same client unprotected:
 * `npm run bench:http` (or `npm run build && node --expose-gc bench/outgoing-http.js
 * [--rounds=50] [--generations=10] [--seconds=1] [--warmup=5] [--rewarm=0.5] [--concurrency=16]
 * [--parts=fetch,HttpService,origins,in-process]`).
 *
 * - fetch: `createResilientFetch(registry)` (preset `http`, and with `timeout: false`) vs the global
 *   fetch (undici, keep-alive), and vs the global fetch given a fresh AbortSignal per request
 *   (what a timeout cost before requests were aborted through their dispatcher);
 * - HttpService: an `HttpService` whose Axios instance the module would protect (with the preset's
 *   timeout, and without one) vs one it does not (keep-alive agents on all);
 * - 1,000 origins: heap per origin breaker, and what the first request to a new origin costs
 *   the protection (parsing its origin and creating its breaker) next to a known one;
 * - in-process, Node's own fetch over a dispatcher that answers with no connection (axios over an
 *   adapter that does): the protection's time and heap allocated per request without a
 *   connection's noise; and over transports that answer at once, its own code's time.
 *
 * The upstream runs in a child process on 127.0.0.1, and each client in a process of its own, as
 * an app runs with the protection on or off: in one process, clients taking turns every segment
 * cost the protected one 8–18% more than it costs alone (why is not measured here; V8 tuning
 * undici's code for one mix of requests, then another, would do it), which says nothing of an
 * app. With `taskset` (Linux) the clients run on CPU 0 and the upstream on CPU 1.
 *
 * Each client's process is started (in a shuffled order) and warmed up (for `--warmup` seconds:
 * 2,000 requests, ~0.5 s, left a process's first round 25-45% under its later ones); then, every
 * round, each client in a shuffled order runs alone for `--rewarm` seconds unmeasured (a process
 * that waited while the others ran reads slow at first) and measures for `--seconds`,
 * `--concurrency` requests at a time, while the others wait. The processes are started anew
 * `--generations` times in a run, so that no one process's luck (where its code and heap
 * landed, which moved a row by ±5% with 5 generations) decides a row; short rounds
 * pair clients measured a few seconds apart (on the shared VM the A/A row still moves by
 * ±5–10% a round).
 * Clients measured at once on one CPU would share its caches, which costs the one that touches
 * more memory more than an app pays. A client's figure is requests per second
 * of wall time (each is CPU-bound; the CPU time's ratio is shown beside it). A ratio is the
 * median of the per-round ratios to plain, with their interquartile range. `plain (again)` is
 * plain once more: its ratio shows the noise of the run.
 */

const { spawn, spawnSync } = require('node:child_process');
const os = require('node:os');
const { numberArg, listArg, choicesArg } = require('./args');
const {
  AT_ONCE,
  CLIENTS,
  IN_PROCESS,
  LABELS,
  answerAtOnce,
  answerInProcess,
  startUpstream,
} = require('./outgoing-clients');

const hasTaskset = os.availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** `command` on `cpu` when `taskset` can pin it. */
const pinnedTo = (cpu, command) => (hasTaskset ? ['taskset', '-c', String(cpu), ...command] : command);

const SETTINGS = {
  rounds: numberArg('rounds', 50),
  generations: numberArg('generations', 10),
  seconds: numberArg('seconds', 1),
  warmup: numberArg('warmup', 5),
  rewarm: numberArg('rewarm', 0.5),
  concurrency: numberArg('concurrency', 16),
};

/** The parts of the bench to run (`--parts`, all by default). */
const PARTS = choicesArg('parts', ['fetch', 'HttpService', 'origins', 'in-process']);

/**
 * Sends requests with `send`, `concurrency` at a time, for `seconds`: requests per second of the
 * client's CPU time, and of wall time.
 */
async function throughput(send, seconds = SETTINGS.seconds) {
  let requests = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const end = started + BigInt(Math.round(seconds * 1e9));
  const worker = async () => {
    while (process.hrtime.bigint() < end) {
      await send();
      requests++;
    }
  };
  await Promise.all(Array.from({ length: SETTINGS.concurrency }, worker));
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  return { cpu: requests / ((user + system) / 1e6), wall: requests / wall };
}

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)];
const median = (values) => quantile(values, 0.5);

/** 0, 1, …, n - 1 in an order that changes every call (a fixed seed: runs shuffle alike). */
const shuffled = (() => {
  let seed = 20261206;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return (n) => {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  };
})();

/** Median and interquartile range of the per-round ratios of `runs` to `base`, formatted. */
function ratioOf(runs, base) {
  const ratios = runs.map((value, round) => value / base[round]);
  const [ratio, low, high] = [0.5, 0.25, 0.75].map((q) => quantile(ratios, q));
  return {
    ratio,
    interquartile: [low, high],
    text: `${ratio.toFixed(3)} (IQR ${low.toFixed(3)}–${high.toFixed(3)})`,
  };
}

/**
 * Runs one client of `suite` in this process (a child of `compare`): warms up, then measures and
 * prints its figures (a line of JSON) each time it reads a line on stdin, until stdin ends.
 */
async function runClient(suite, label, origin) {
  const send = (await CLIENTS[suite](origin))[label];
  await throughput(send, SETTINGS.warmup);
  process.stdout.write('ready\n');
  // No gc() before a round: a full collection shrinks V8's young generation, and the round then
  // pays for growing it again (plain fetch read 2.6-3.0k req/s so, 4.5-4.8k without), by an
  // amount that moves with what each client allocates: it skewed the ratios.
  for await (const _ of require('node:readline').createInterface({ input: process.stdin })) {
    await throughput(send, SETTINGS.rewarm);
    process.stdout.write(`${JSON.stringify(await throughput(send))}\n`);
  }
}

/**
 * Starts a client of `suite` in a process of its own; resolves once it is warm, with its
 * `measure()` (its figures, measured once more) and `stop()`.
 */
function startClient(suite, label, origin) {
  const [command, ...args] = pinnedTo(0, [
    process.execPath,
    '--expose-gc',
    process.argv[1],
    `--client=${suite},${label}`,
    `--origin=${origin}`,
    ...['seconds', 'warmup', 'rewarm', 'concurrency'].map((name) => `--${name}=${SETTINGS[name]}`),
  ]);
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = require('node:readline').createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) => code !== 0 && reject(new Error(`${label}: exit ${code}`))),
  );
  const nextLine = () => Promise.race([lines.next().then(({ value }) => value), exited]);
  return nextLine().then(() => ({
    measure: () => (child.stdin.write('go\n'), nextLine().then(JSON.parse)),
    stop: () => child.stdin.end(),
  }));
}

/** Rounds of the clients of `suite`, measured together; the first client is the base of the ratios. */
async function compare(suite, origin) {
  const labels = Object.keys(await CLIENTS[suite](origin));
  const runs = labels.map(() => ({ wall: [], cpu: [] }));
  let clients = [];
  for (let round = 0; round < SETTINGS.rounds; round++) {
    // A process keeps its luck (where its code and heap landed) for as long as it runs: new ones.
    if (round % Math.ceil(SETTINGS.rounds / SETTINGS.generations) === 0) {
      for (const client of clients) client.stop();
      clients = [];
      // Started in a new order each time: the first one started read ~2% slower over whole runs.
      for (const i of shuffled(labels.length)) clients[i] = await startClient(suite, labels[i], origin);
    }
    for (const i of shuffled(labels.length)) {
      const { wall, cpu } = await clients[i].measure();
      runs[i].wall[round] = wall;
      runs[i].cpu[round] = cpu;
    }
  }
  for (const client of clients) client.stop();
  const result = { name: suite };
  console.log(`${suite}: requests/s (wall) and ratio to plain; the ratio of client CPU time per request`);
  for (const [i, label] of labels.entries()) {
    const perSecond = median(runs[i].wall);
    const wall = ratioOf(runs[i].wall, runs[0].wall);
    const cpu = ratioOf(runs[i].cpu, runs[0].cpu);
    result[label] = {
      perSecond,
      wall: { ratio: wall.ratio, interquartile: wall.interquartile },
      cpu: { ratio: cpu.ratio, interquartile: cpu.interquartile },
    };
    console.log(
      `  ${label.padEnd(38)} ${perSecond.toFixed(0).padStart(6)} req/s` +
        (i === 0 ? '' : `  wall ${wall.text}  cpu ${cpu.text}`),
    );
  }
  return result;
}

function origins() {
  const { BreakerRegistry } = require('../dist/core/registry');
  const { originBreakersOf } = require('../dist/http/origin-breakers');
  const count = 1_000;
  const urls = Array.from({ length: count }, (_, i) => `https://host-${i}.example.com/path?q=${i}`);
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const breakers = originBreakersOf(new BreakerRegistry());
  let started = process.hrtime.bigint();
  for (const url of urls) breakers.forUrl(url);
  const firstNs = Number(process.hrtime.bigint() - started) / count;
  // Each breaker as after one request: it has recorded one outcome.
  for (const url of urls) void breakers.forUrl(url).execute(() => 1);
  globalThis.gc?.();
  const perBreaker = (process.memoryUsage().heapUsed - before) / count;
  started = process.hrtime.bigint();
  for (let round = 0; round < 10; round++) for (const url of urls) breakers.forUrl(url);
  const knownNs = Number(process.hrtime.bigint() - started) / (count * 10);
  console.log(
    `1,000 origins: ${(perBreaker / 1024).toFixed(2)} KB heap per origin breaker; ` +
      `first request to a new origin ${(firstNs / 1000).toFixed(1)} µs of protection, a known one ${(knownNs / 1000).toFixed(2)} µs`,
  );
  return { perBreakerBytes: perBreaker, firstRequestNs: firstNs, knownOriginNs: knownNs };
}

/**
 * Median ns per call of each function in `calls` (16 at a time), and the median of its per-round
 * differences to the first: short rounds, the order turning every round (round 0 warms up).
 */
async function nsPerCall(calls, count = 2_000, rounds = 40) {
  const entries = Object.entries(calls);
  const runs = entries.map(() => []);
  for (let round = 0; round <= rounds; round++) {
    for (let step = 0; step < entries.length; step++) {
      const i = (round + step) % entries.length;
      const started = process.hrtime.bigint();
      for (let n = 0; n < count; n += 16) await Promise.all(Array.from({ length: 16 }, entries[i][1]));
      if (round > 0) runs[i].push(Number(process.hrtime.bigint() - started) / count);
    }
  }
  return Object.fromEntries(
    entries.map(([label], i) => [
      label,
      i === 0 ? median(runs[0]) : median(runs[i].map((ns, round) => ns - runs[0][round])),
    ]),
  );
}

/**
 * Bytes allocated per call of each function in `calls` (16 at a time), read from the heap's
 * growth with no garbage collection in between: run in a process whose new space holds them all
 * (see `allocations`). The median of 9 rounds, after 3 not kept.
 */
async function bytesPerCall(calls, count = 1_600) {
  const bytes = Object.fromEntries(Object.keys(calls).map((label) => [label, []]));
  // The first rounds also count what compiling each client leaves behind: warm-ups, not kept.
  for (let round = -3; round < 9; round++) {
    for (const [label, call] of Object.entries(calls)) {
      globalThis.gc();
      const before = process.memoryUsage().heapUsed;
      for (let n = 0; n < count; n += 16) await Promise.all(Array.from({ length: 16 }, call));
      if (round >= 0) bytes[label].push((process.memoryUsage().heapUsed - before) / count);
    }
  }
  return Object.fromEntries(Object.entries(bytes).map(([label, values]) => [label, median(values)]));
}

/**
 * The protection's cost per request, in-process, where a connection's noise cannot hide it:
 * Node's own fetch over a global dispatcher that answers with no connection, and axios with an
 * adapter that does (`IN_PROCESS`). What the throughput ratios above measure through a real
 * connection. `measure` is `nsPerCall` or `bytesPerCall`. With `AT_ONCE` and `answerAtOnce`, the
 * same over transports that answer at once: the protection's own code, without the work of a
 * request it adds to (its garbage, collected with the request's).
 */
async function ownCost(measure, clients = IN_PROCESS, answer = answerInProcess) {
  const restore = await answer();
  try {
    return { fetch: await measure(clients.fetch()), axios: await measure(await clients.axios()) };
  } finally {
    restore();
  }
}

/** `value` with its sign (+ or −), the rest as `format` writes its magnitude. */
const signed = (value, format) => `${value < 0 ? '−' : '+'}${format(Math.abs(value))}`;

/** Prints `ownCost(nsPerCall)`, over the in-process transports and over those that answer at once. */
async function ownTime() {
  const { fetch, axios } = await ownCost(nsPerCall);
  const atOnce = await ownCost((calls) => nsPerCall(calls, 8_000, 30), AT_ONCE, answerAtOnce);
  const us = (ns) => (ns / 1000).toFixed(2);
  const more = (ns) => `${signed(ns, us)} µs`;
  const row = (cost) =>
    `30 s timeout ${more(cost[LABELS.timed])}, timeout: false ${more(cost[LABELS.untimed])}, ` +
    `plain again ${more(cost[LABELS.again])}`;
  console.log(
    `protection's time per request (in-process, a transport that answers with no connection):\n` +
      `  fetch        ${row(fetch)} (fetch itself: ${us(fetch[LABELS.plain])} µs; ` +
      `given a fresh AbortSignal: ${more(fetch[LABELS.signal])})\n` +
      `  axios        ${row(axios)} (axios itself: ${us(axios[LABELS.plain])} µs)\n` +
      `its own code (a transport that answers at once, the client's least work):\n` +
      `  fetch        ${row(atOnce.fetch)} (the stand-in fetch: ${us(atOnce.fetch[LABELS.plain])} µs)\n` +
      `  axios        ${row(atOnce.axios)} (axios itself: ${us(atOnce.axios[LABELS.plain])} µs)`,
  );
}

/**
 * Prints `ownCost(bytesPerCall)`, measured in a process of its own whose new space (256 MB)
 * holds a round's garbage: the protection's own allocations per request, which the garbage
 * collector pays for while a request's in-flight objects are live.
 */
function allocations() {
  const { status, stdout } = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-semi-space-size=256', process.argv[1], '--allocations'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (status !== 0) throw new Error(`allocations: exit ${status}`);
  const { fetch, axios } = JSON.parse(stdout);
  const kb = (bytes) => (bytes / 1024).toFixed(2);
  const more = (cost, label) => `${signed(cost[label] - cost[LABELS.plain], kb)} KB`;
  const row = (cost) =>
    `30 s timeout ${more(cost, LABELS.timed)}, timeout: false ${more(cost, LABELS.untimed)}, ` +
    `plain again ${more(cost, LABELS.again)}`;
  console.log(
    `heap allocated per request (in-process):\n` +
      `  fetch        ${row(fetch)} (fetch itself: ${kb(fetch[LABELS.plain])} KB; ` +
      `given a fresh AbortSignal: ${more(fetch, LABELS.signal)})\n` +
      `  axios        ${row(axios)} (axios itself: ${kb(axios[LABELS.plain])} KB)`,
  );
}

async function main() {
  if (globalThis.gc === undefined) console.warn('run with --expose-gc for steady heap figures');
  const suites = PARTS.filter((part) => part in CLIENTS);
  if (suites.length > 0) {
    const upstream = await startUpstream(pinnedTo(1, [process.execPath]));
    try {
      console.log(
        `${SETTINGS.rounds} rounds; each client in its own process (${SETTINGS.generations} in turn), warmed up for ${SETTINGS.warmup} s, ` +
          `then, each round, for ${SETTINGS.rewarm} s more and measures alone for ${SETTINGS.seconds} s, ${SETTINGS.concurrency} requests at a time, loopback keep-alive` +
          (hasTaskset ? '; clients on CPU 0, upstream on CPU 1' : ''),
      );
      for (const suite of suites) await compare(suite, upstream.origin);
    } finally {
      upstream.child.kill();
    }
  }
  if (PARTS.includes('origins')) origins();
  if (PARTS.includes('in-process')) {
    await ownTime();
    allocations();
  }
}

const client = listArg('client');
if (process.argv.includes('--allocations')) {
  void ownCost(bytesPerCall).then((cost) => process.stdout.write(JSON.stringify(cost)));
} else if (client === undefined) void main();
else void runClient(client[0], client.slice(1).join(','), listArg('origin')[0]);
