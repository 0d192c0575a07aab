'use strict';

/**
 * What the outgoing HTTP benches send requests with, and to: the same client with and without
 * the origin breakers (labels shared by `outgoing-http.js` and `outgoing-instructions.js`), an
 * upstream on 127.0.0.1 in a child process, and transports that answer with no connection.
 */

const { spawn } = require('node:child_process');
const http = require('node:http');
const { setImmediate } = require('node:timers');

const UPSTREAM = `
  const http = require('node:http');
  const server = http.createServer((req, res) => { req.resume(); res.end('{"ok":true}'); });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

/**
 * Starts the upstream (a plain `node:http` server answering every request at once, keep-alive)
 * with `command` (node, maybe behind `taskset`); resolves with its process and origin.
 */
function startUpstream(command) {
  const child = spawn(command[0], [...command.slice(1), '-e', UPSTREAM], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) =>
    child.stdout.once('data', (chunk) =>
      resolve({ child, origin: `http://127.0.0.1:${String(chunk).trim()}` }),
    ),
  );
}

/** The clients' labels. */
const LABELS = {
  plain: 'plain',
  again: 'plain (again)',
  signal: 'plain + a fresh AbortSignal',
  timed: 'protected (preset http: 30 s timeout)',
  untimed: 'protected, timeout: false',
};

/** The fetch clients, against `origin`. */
async function fetchClients(origin) {
  const { BreakerRegistry } = require('../dist/core/registry');
  const { createResilientFetch } = require('../dist/http/resilient-fetch');
  const guarded = createResilientFetch(new BreakerRegistry());
  const untimed = createResilientFetch(new BreakerRegistry(), { defaults: { timeout: false } });
  const url = `${origin}/x`;
  return {
    [LABELS.plain]: async () => (await globalThis.fetch(url)).text(),
    [LABELS.again]: async () => (await globalThis.fetch(url)).text(),
    // What a timeout cost when it aborted requests through a signal: fetch given one, no breaker.
    [LABELS.signal]: async () =>
      (await globalThis.fetch(url, { signal: new globalThis.AbortController().signal })).text(),
    [LABELS.timed]: async () => (await guarded(url)).text(),
    [LABELS.untimed]: async () => (await untimed(url)).text(),
  };
}

/** Three Axios instances made with `config`: plain, and protected with and without a timeout. */
async function axiosInstances(config) {
  const axios = require('axios');
  const { BreakerRegistry } = require('../dist/core/registry');
  const { originBreakersOf } = require('../dist/http/origin-breakers');
  const { protectAxiosInstance } = require('../dist/http/axios-protection');
  const [plain, timed, untimed] = [0, 1, 2].map(() => axios.create(config()));
  await protectAxiosInstance(timed, originBreakersOf(new BreakerRegistry()));
  await protectAxiosInstance(
    untimed,
    originBreakersOf(new BreakerRegistry(), { defaults: { timeout: false } }),
  );
  return { plain, timed, untimed };
}

/** The `HttpService` clients (keep-alive agents on all), against `origin`. */
async function httpServiceClients(origin) {
  const { HttpService } = require('@nestjs/axios');
  const { lastValueFrom } = require('rxjs');
  const instances = await axiosInstances(() => ({ httpAgent: new http.Agent({ keepAlive: true }) }));
  const [plain, timed, untimed] = [instances.plain, instances.timed, instances.untimed].map(
    (instance) => new HttpService(instance),
  );
  const url = `${origin}/x`;
  return {
    [LABELS.plain]: () => lastValueFrom(plain.get(url)),
    [LABELS.again]: () => lastValueFrom(plain.get(url)),
    [LABELS.timed]: () => lastValueFrom(timed.get(url)),
    [LABELS.untimed]: () => lastValueFrom(untimed.get(url)),
  };
}

/** Each suite's clients by label, made against an origin; the first label is plain, the base of the ratios. */
const CLIENTS = { fetch: fetchClients, HttpService: httpServiceClients };

/**
 * Makes Node's own fetch answer every request with no connection: a global dispatcher that
 * answers 200 on the event loop's next turn (as a socket's data would arrive; answered in a
 * microtask, the loop would never turn, and undici's resource timings, which Node drops in a
 * `setImmediate`, piled up at ~0.6 KB a request). Resolves with the function that restores it.
 */
async function answerInProcess() {
  const key = Symbol.for('undici.globalDispatcher.1');
  // The first fetch loads undici and its global dispatcher.
  await globalThis.fetch('data:,');
  const original = globalThis[key];
  globalThis[key] = {
    dispatch(options, handler) {
      handler.onConnect(() => {});
      setImmediate(() => {
        handler.onHeaders(200, [], () => {}, 'OK');
        handler.onComplete([]);
      });
      return true;
    },
  };
  return () => {
    globalThis[key] = original;
  };
}

const IN_PROCESS_URL = 'http://127.0.0.1:8080/x';

/**
 * The fetch clients to `IN_PROCESS_URL`, each response handed to `take`; with `signal`, also
 * plain given a fresh `AbortSignal`.
 */
function fetchClientsTo(take, { signal = false } = {}) {
  const { BreakerRegistry } = require('../dist/core/registry');
  const { createResilientFetch } = require('../dist/http/resilient-fetch');
  const timed = createResilientFetch(new BreakerRegistry());
  const untimed = createResilientFetch(new BreakerRegistry(), { defaults: { timeout: false } });
  return {
    [LABELS.plain]: () => take(globalThis.fetch(IN_PROCESS_URL)),
    [LABELS.again]: () => take(globalThis.fetch(IN_PROCESS_URL)),
    ...(signal && {
      [LABELS.signal]: () =>
        take(globalThis.fetch(IN_PROCESS_URL, { signal: new globalThis.AbortController().signal })),
    }),
    [LABELS.timed]: () => take(timed(IN_PROCESS_URL)),
    [LABELS.untimed]: () => take(untimed(IN_PROCESS_URL)),
  };
}

/** The axios clients to `IN_PROCESS_URL`, over `adapter`. */
async function axiosClientsOver(adapter) {
  const { plain, timed, untimed } = await axiosInstances(() => ({ adapter }));
  return {
    [LABELS.plain]: () => plain.get(IN_PROCESS_URL),
    [LABELS.again]: () => plain.get(IN_PROCESS_URL),
    [LABELS.timed]: () => timed.get(IN_PROCESS_URL),
    [LABELS.untimed]: () => untimed.get(IN_PROCESS_URL),
  };
}

const reply = (config) => ({ status: 200, data: '', headers: {}, config, request: {} });

/** The same clients with no connection (fetch's only once `answerInProcess()` has run). */
const IN_PROCESS = {
  fetch: () => fetchClientsTo(async (response) => (await response).text(), { signal: true }),
  // An adapter that answers on the event loop's next turn.
  axios: () =>
    axiosClientsOver((config) => new Promise((resolve) => setImmediate(() => resolve(reply(config))))),
};

/**
 * Replaces the global `fetch` with one that does the least Node's does for the protection: it
 * hands the request to the dispatcher it would go through, which connects it at once, and
 * answers at once. Resolves with the function that restores Node's.
 */
async function answerAtOnce() {
  const key = Symbol.for('undici.globalDispatcher.1');
  await globalThis.fetch('data:,');
  const original = { fetch: globalThis.fetch, dispatcher: globalThis[key] };
  const response = { status: 200 };
  const ignore = () => {};
  globalThis[key] = { dispatch: () => true };
  globalThis.fetch = (input, init) => {
    // Shaped as Node's fetch makes its handler: it keeps the abort function it is handed.
    const handler = {
      abort: null,
      onConnect(abort) {
        this.abort = abort;
      },
    };
    (init?.dispatcher ?? globalThis[key]).dispatch({}, handler);
    handler.onConnect(ignore);
    return Promise.resolve(response);
  };
  return () => {
    globalThis.fetch = original.fetch;
    globalThis[key] = original.dispatcher;
  };
}

/**
 * The same clients over transports that answer at once (fetch's only once `answerAtOnce()` has
 * run): what is left of a request is the client's own code and the protection's.
 */
const AT_ONCE = {
  fetch: () => fetchClientsTo((response) => response),
  axios: () => axiosClientsOver((config) => Promise.resolve(reply(config))),
};

module.exports = { AT_ONCE, CLIENTS, IN_PROCESS, LABELS, answerAtOnce, answerInProcess, startUpstream };
