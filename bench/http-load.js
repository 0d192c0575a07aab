'use strict';

/**
 * The load generator of bench/http.js: `node bench/http-load.js '<json settings>'`.
 * Per round and target, `requests` GETs over `connections` keep-alive connections to
 * 127.0.0.1, targets alternating (the first one rotating) round by round after one warm-up
 * round. Every response must be a 200. Prints `{ [target]: { median, p25, p75, samples } }`
 * in requests per second.
 */

const http = require('node:http');
const { hrtime } = require('node:process');
const { setTimeout, clearTimeout } = require('node:timers');
const { median, quantile } = require('./harness');

/** No round may take longer than this: a stuck server fails the benchmark instead of hanging it. */
const ROUND_LIMIT_MS = 60_000;

function get(agent, url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
  });
}

/** Requests per second for `requests` GETs of `url`, `connections` at a time. */
async function round(url, requests, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let left = requests;
  const worker = async () => {
    while (left-- > 0) await get(agent, url);
  };
  const t0 = hrtime.bigint();
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${url}: round over ${ROUND_LIMIT_MS} ms`)), ROUND_LIMIT_MS);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: connections }, worker)), limit]);
  } finally {
    clearTimeout(timer);
    agent.destroy();
  }
  return requests / (Number(hrtime.bigint() - t0) / 1e9);
}

async function main() {
  const { targets, rounds, requests, connections } = JSON.parse(process.argv[2]);
  const names = Object.keys(targets);
  const rps = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await round(targets[name], requests, connections);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      rps[name].push(await round(targets[name], requests, connections));
    }
  }
  const out = Object.fromEntries(
    names.map((n) => [
      n,
      {
        median: median(rps[n]),
        p25: quantile(rps[n], 0.25),
        p75: quantile(rps[n], 0.75),
        samples: rps[n].map(Math.round),
      },
    ]),
  );
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
