'use strict';

/**
 * Outgoing HTTP through the origin breakers, side by side with the same client unprotected:
 * `npm run build && node --expose-gc bench/outgoing-http.js [--rounds=11] [--requests=2000] [--concurrency=16]`.
 *
 * - fetch: `createResilientFetch(registry)` vs the global fetch (undici, keep-alive);
 * - HttpService: an `HttpService` whose Axios instance the module would protect vs one it does not
 *   (keep-alive agents on both);
 * - 1,000 origins: heap per origin breaker, and what the first request to a new origin costs
 *   the protection (parsing its origin and creating its breaker) next to a known one.
 *
 * The upstream runs in a child process on 127.0.0.1, so client and server each get a core.
 * Rounds alternate plain and protected; the medians and their ratio are printed.
 */

const { spawn } = require('node:child_process');
const http = require('node:http');
const { numberArg } = require('./args');

const SETTINGS = {
  rounds: numberArg('rounds', 11),
  requests: numberArg('requests', 2_000),
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

/** Alternating rounds of `plain` and `guarded` (after one warm-up each); medians and ratio. */
async function compare(name, plain, guarded) {
  await throughput(plain);
  await throughput(guarded);
  const a = [];
  const b = [];
  for (let round = 0; round < SETTINGS.rounds; round++) {
    a.push(await throughput(plain));
    b.push(await throughput(guarded));
  }
  const result = { name, plain: median(a), guarded: median(b), ratio: median(b) / median(a) };
  console.log(
    `${name.padEnd(12)} plain ${result.plain.toFixed(0)} req/s  protected ${result.guarded.toFixed(0)} req/s  ` +
      `ratio ${result.ratio.toFixed(3)}`,
  );
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
  await protectAxiosInstance(guarded.axiosRef, originBreakersOf(new BreakerRegistry()));
  return {
    plain: () => lastValueFrom(plain.get(`${origin}/x`)),
    guarded: () => lastValueFrom(guarded.get(`${origin}/x`)),
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

async function main() {
  if (globalThis.gc === undefined) console.warn('run with --expose-gc for steady heap figures');
  const { BreakerRegistry } = require('../dist/core/registry');
  const { createResilientFetch } = require('../dist/http/resilient-fetch');
  const upstream = await startUpstream();
  try {
    const fetch = createResilientFetch(new BreakerRegistry());
    const url = `${upstream.origin}/x`;
    console.log(
      `${SETTINGS.rounds} rounds of ${SETTINGS.requests} requests, ${SETTINGS.concurrency} at a time, loopback keep-alive`,
    );
    await compare(
      'fetch',
      async () => (await globalThis.fetch(url)).text(),
      async () => (await fetch(url)).text(),
    );
    const clients = await httpServiceClients(upstream.origin);
    await compare('HttpService', clients.plain, clients.guarded);
    origins();
  } finally {
    upstream.child.kill();
  }
}

void main();
