'use strict';

/**
 * Outgoing HTTP through the origin breakers, side by side with the same client unprotected:
 * `npm run build && node --expose-gc bench/outgoing-http.js [--rounds=31] [--requests=1000] [--concurrency=16]`.
 *
 * - fetch: `createResilientFetch(registry)` (preset `http`, and with `timeout: false`) vs the global
 *   fetch (undici, keep-alive), and vs the global fetch given a fresh AbortSignal per request: the
 *   floor of any request a timeout can abort;
 * - HttpService: an `HttpService` whose Axios instance the module would protect (with the preset's
 *   timeout, and without one) vs one it does not (keep-alive agents on all);
 * - 1,000 origins: heap per origin breaker, and what the first request to a new origin costs
 *   the protection (parsing its origin and creating its breaker) next to a known one.
 *
 * The upstream runs in a child process on 127.0.0.1, so client and server each get a core.
 * Rounds alternate the clients; the medians and the median ratios to plain are printed.
 */

const { spawn } = require('node:child_process');
const http = require('node:http');
const { numberArg } = require('./args');

const SETTINGS = {
  rounds: numberArg('rounds', 31),
  requests: numberArg('requests', 1_000),
  concurrency: numberArg('concurrency', 16),
};

const UPSTREAM = `
  const http = require('node:http');
  const server = http.createServer((req, res) => { req.resume(); res.end('{"ok":true}'); });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

function startUpstream() {
  const child = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) =>
    child.stdout.once('data', (chunk) =>
      resolve({ child, origin: `http://127.0.0.1:${String(chunk).trim()}` }),
    ),
  );
}

/** Requests per second sending `requests` requests, `concurrency` at a time, with `send`. */
async function throughput(send) {
  let left = SETTINGS.requests;
  const worker = async () => {
    while (left-- > 0) await send();
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: SETTINGS.concurrency }, worker));
  return SETTINGS.requests / (Number(process.hrtime.bigint() - started) / 1e9);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Rounds of each client in `clients` (after one warm-up each), the order turning every round.
 * Each client's ratio is the median of its per-round ratios to the first client's throughput in
 * the same round: on a shared machine the load drifts between rounds, much less within one.
 */
async function compare(name, clients) {
  const entries = Object.entries(clients);
  for (const [, send] of entries) await throughput(send);
  const runs = entries.map(() => []);
  for (let round = 0; round < SETTINGS.rounds; round++) {
    for (let step = 0; step < entries.length; step++) {
      const i = (round + step) % entries.length;
      runs[i][round] = await throughput(entries[i][1]);
    }
  }
  const result = { name };
  console.log(name);
  for (const [i, [label]] of entries.entries()) {
    const perSecond = median(runs[i]);
    const ratio = median(runs[i].map((value, round) => value / runs[0][round]));
    result[label] = { perSecond, ratio };
    console.log(`  ${label.padEnd(38)} ${perSecond.toFixed(0).padStart(6)} req/s  ratio ${ratio.toFixed(3)}`);
  }
  return result;
}

async function httpServiceClients(origin) {
  const axios = require('axios');
  const { HttpService } = require('@nestjs/axios');
  const { lastValueFrom } = require('rxjs');
  const { BreakerRegistry } = require('../dist/core/registry');
  const { originBreakersOf } = require('../dist/http/origin-breakers');
  const { protectAxiosInstance } = require('../dist/http/axios-protection');
  const make = () => new HttpService(axios.create({ httpAgent: new http.Agent({ keepAlive: true }) }));
  const plain = make();
  const guarded = make();
  const untimed = make();
  await protectAxiosInstance(guarded.axiosRef, originBreakersOf(new BreakerRegistry()));
  await protectAxiosInstance(
    untimed.axiosRef,
    originBreakersOf(new BreakerRegistry(), { defaults: { timeout: false } }),
  );
  const url = `${origin}/x`;
  return {
    plain: () => lastValueFrom(plain.get(url)),
    'protected (preset http: 30 s timeout)': () => lastValueFrom(guarded.get(url)),
    'protected, timeout: false': () => lastValueFrom(untimed.get(url)),
  };
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

/** Median ns per call of each function in `calls` (16 at a time, alternating rounds). */
async function nsPerCall(calls, count = 50_000, rounds = 7) {
  const entries = Object.entries(calls);
  const runs = entries.map(() => []);
  for (let round = 0; round <= rounds; round++) {
    for (const [i, [, call]] of entries.entries()) {
      const started = process.hrtime.bigint();
      for (let n = 0; n < count; n += 16) await Promise.all(Array.from({ length: 16 }, call));
      // Round 0 warms up.
      if (round > 0) runs[i].push(Number(process.hrtime.bigint() - started) / count);
    }
  }
  return Object.fromEntries(entries.map(([label], i) => [label, median(runs[i])]));
}

/**
 * The protection's own cost per request, in-process, with a transport that answers at once:
 * what the throughput ratios above measure through the noise of a real connection.
 */
async function ownCost() {
  const axios = require('axios');
  const { BreakerRegistry } = require('../dist/core/registry');
  const { createResilientFetch } = require('../dist/http/resilient-fetch');
  const { originBreakersOf } = require('../dist/http/origin-breakers');
  const { protectAxiosInstance } = require('../dist/http/axios-protection');
  const url = 'http://127.0.0.1:9/x';
  const response = { status: 200 };
  const original = globalThis.fetch;
  globalThis.fetch = () => Promise.resolve(response);
  try {
    const guarded = createResilientFetch(new BreakerRegistry());
    const untimed = createResilientFetch(new BreakerRegistry(), { defaults: { timeout: false } });
    const fetchNs = await nsPerCall({
      plain: () => globalThis.fetch(url),
      signal: () => globalThis.fetch(url, { signal: new globalThis.AbortController().signal }),
      guarded: () => guarded(url),
      untimed: () => untimed(url),
    });
    const adapter = (config) => Promise.resolve({ status: 200, data: '', headers: {}, config, request: {} });
    const [plainAxios, guardedAxios, untimedAxios] = [0, 1, 2].map(() => axios.create({ adapter }));
    await protectAxiosInstance(guardedAxios, originBreakersOf(new BreakerRegistry()));
    await protectAxiosInstance(
      untimedAxios,
      originBreakersOf(new BreakerRegistry(), { defaults: { timeout: false } }),
    );
    const axiosNs = await nsPerCall({
      plain: () => plainAxios.get(url),
      guarded: () => guardedAxios.get(url),
      untimed: () => untimedAxios.get(url),
    });
    const us = (ns) => (ns / 1000).toFixed(2);
    console.log(
      `protection's own cost per request (in-process, a transport that answers at once):\n` +
        `  fetch        30 s timeout ${us(fetchNs.guarded - fetchNs.plain)} µs (a fresh AbortSignal alone: ${us(fetchNs.signal - fetchNs.plain)} µs), ` +
        `timeout: false ${us(fetchNs.untimed - fetchNs.plain)} µs\n` +
        `  axios        30 s timeout ${us(axiosNs.guarded - axiosNs.plain)} µs, timeout: false ${us(axiosNs.untimed - axiosNs.plain)} µs ` +
        `(axios itself: ${us(axiosNs.plain)} µs)`,
    );
    return { fetchNs, axiosNs };
  } finally {
    globalThis.fetch = original;
  }
}

async function main() {
  if (globalThis.gc === undefined) console.warn('run with --expose-gc for steady heap figures');
  const { BreakerRegistry } = require('../dist/core/registry');
  const { createResilientFetch } = require('../dist/http/resilient-fetch');
  const upstream = await startUpstream();
  try {
    const guarded = createResilientFetch(new BreakerRegistry());
    const untimed = createResilientFetch(new BreakerRegistry(), { defaults: { timeout: false } });
    const url = `${upstream.origin}/x`;
    console.log(
      `${SETTINGS.rounds} rounds of ${SETTINGS.requests} requests, ${SETTINGS.concurrency} at a time, loopback keep-alive`,
    );
    await compare('fetch', {
      plain: async () => (await globalThis.fetch(url)).text(),
      // The floor of a request a timeout can abort: fetch given a fresh AbortSignal, no breaker.
      'plain + a fresh AbortSignal': async () =>
        (await globalThis.fetch(url, { signal: new globalThis.AbortController().signal })).text(),
      'protected (preset http: 30 s timeout)': async () => (await guarded(url)).text(),
      'protected, timeout: false': async () => (await untimed(url)).text(),
    });
    await compare('HttpService', await httpServiceClients(upstream.origin));
    origins();
    await ownCost();
  } finally {
    upstream.child.kill();
  }
}

void main();
