/**
 * Child process of the fetch-abort test: Node's own `fetch` as an app meets it, outside Jest's
 * sandbox (which hides undici's global dispatcher, so requests there keep the signal way). Runs
 * timed-out and aborted requests through `createResilientFetch()` against real upstreams and
 * prints what happened as one JSON line: each request's outcome, what `fetch` was given (a
 * signal, a dispatcher), and whether the upstream saw the request given up.
 * Usage: node --require ./swc-register.js fetch-abort-child.ts
 */
import { BreakerRegistry } from '../../src/core/registry';
import { AbortingDispatcher } from '../../src/http/dispatch-abort';
import { createResilientFetch } from '../../src/http/resilient-fetch';
import { refusingOrigin, startUpstream, type Upstream } from './upstream-server';

type Fetch = typeof globalThis.fetch;

/** How a request ended: its status, or its error's code (or name); and how long it took. */
export interface Outcome {
  status?: number;
  error?: string;
  ms: number;
}

/**
 * What a request handed to `fetch`: a signal; a dispatcher in `init`, or ours standing in for
 * undici's global one while `fetch` ran, or none.
 */
export interface Given {
  signal: boolean;
  dispatcher: 'init' | 'global' | 'none';
}

/** What the child prints. */
export interface FetchAbortReport {
  first: Outcome;
  learning: Outcome;
  timedOut: Outcome;
  timedOutAbandoned: boolean;
  callerAborted: Outcome;
  callerAbortedAbandoned: boolean;
  failuresAfterAbort: number;
  ownAnswered: Outcome;
  ownTimedOut: Outcome;
  ownAbandoned: boolean;
  ownDispatched: number;
  mockAnswered: Outcome;
  mockBody: string | undefined;
  nodeGiven: Given[];
  otherFirst: Outcome;
  otherTimedOut: Outcome;
  otherAbandoned: boolean;
  otherGiven: Given[];
  turningGiven: Given[];
  turningStatuses: (number | undefined)[];
  globalRestored: boolean;
  refusedAsWritten: Outcome[];
  refusedReached: number;
  failuresAfterRefused: number;
  connectionRefused: Outcome;
  failuresAfterConnectionRefused: number;
  failuresThroughWaitingFetch: number;
}
interface Dispatcher {
  dispatch(options: object, handler: object): boolean;
}

const TIMEOUT_MS = 300;
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const globals = globalThis as unknown as Record<symbol, Dispatcher | undefined>;
const nodeFetch = globalThis.fetch;
/** What each request handed to `fetch`. */
const given: Given[] = [];

function recording(send: Fetch): Fetch {
  return (input, init) => {
    given.push({
      signal: init?.signal != null,
      dispatcher:
        init?.dispatcher != null
          ? 'init'
          : globals[GLOBAL_DISPATCHER] instanceof AbortingDispatcher
            ? 'global'
            : 'none',
    });
    return send(input, init);
  };
}

/** `send` once it has waited a turn, as a wrapper that awaits something before it sends. */
const later =
  (send: Fetch): Fetch =>
  async (input, init) => {
    await undefined;
    return send(input, init);
  };

/** Whether `upstream` sees `count` requests given up by their client within 5 s. */
function abandoned(upstream: Upstream, count: number): Promise<boolean> {
  return Promise.race([
    upstream.abandoned(count).then(() => true),
    new Promise<boolean>((resolve) => setTimeout(resolve, 5_000, false).unref()),
  ]);
}

async function outcome(request: Promise<Response>): Promise<Outcome> {
  const started = Date.now();
  try {
    const response = await request;
    await response.text();
    return { status: response.status, ms: Date.now() - started };
  } catch (error) {
    // A DOMException's code is a number: its name says more.
    const { code, name } = error as { code?: unknown; name?: string };
    return { error: typeof code === 'string' ? code : name, ms: Date.now() - started };
  }
}

async function main(): Promise<void> {
  const [hanging, answering] = await Promise.all([startUpstream(), startUpstream()]);
  hanging.answer('hang');
  const registry = new BreakerRegistry();
  const fetch = createResilientFetch(registry, { defaults: { timeout: TIMEOUT_MS } });
  const report = {} as FetchAbortReport;

  globalThis.fetch = recording(nodeFetch);
  // Node loads undici (and its global dispatcher) on the first request: it goes the signal way.
  report.first = await outcome(fetch(`${answering.origin}/a`));
  // The next one carries both and learns that this fetch uses the dispatcher it is given.
  report.learning = await outcome(fetch(`${answering.origin}/a`));
  report.timedOut = await outcome(fetch(`${hanging.origin}/b`));
  report.timedOutAbandoned = await abandoned(hanging, 1);

  const controller = new AbortController();
  const aborted = outcome(fetch(`${hanging.origin}/c`, { signal: controller.signal }));
  await hanging.received(2);
  controller.abort();
  report.callerAborted = await aborted;
  report.callerAbortedAbandoned = await abandoned(hanging, 2);
  report.failuresAfterAbort = registry.get(`http:${hanging.origin}`).snapshot().failures;

  // The caller's own dispatcher still carries the request.
  const global = globals[GLOBAL_DISPATCHER]!;
  let dispatched = 0;
  const own: Dispatcher = {
    dispatch(options, handler) {
      dispatched++;
      return global.dispatch(options, handler);
    },
  };
  const init = { dispatcher: own } as unknown as RequestInit;
  report.ownAnswered = await outcome(fetch(`${answering.origin}/d`, init));
  report.ownTimedOut = await outcome(fetch(`${hanging.origin}/e`, init));
  report.ownAbandoned = await abandoned(hanging, 3);
  report.ownDispatched = dispatched;

  // A mocking dispatcher (undici's MockAgent says isMockActive): fetch then hands it the body as
  // written, which it reads through ours.
  const mock = {
    isMockActive: true,
    dispatch(options: { body?: unknown }, handler: object) {
      report.mockBody = typeof options.body;
      return global.dispatch(options, handler);
    },
  };
  const posted = { method: 'POST', body: 'hello', dispatcher: mock } as unknown as RequestInit;
  report.mockAnswered = await outcome(fetch(`${answering.origin}/m`, posted));
  report.nodeGiven = given.splice(0);

  // A fetch that sends only after it has waited: the global dispatcher is undici's own again by then.
  globalThis.fetch = recording(later(nodeFetch));
  report.otherFirst = await outcome(fetch(`${answering.origin}/f`));
  report.otherTimedOut = await outcome(fetch(`${hanging.origin}/g`));
  report.otherAbandoned = await abandoned(hanging, 4);
  report.otherGiven = given.splice(0);

  // A fetch that sends at once twice, then only after waiting: it is learned anew.
  let sent = 0;
  const waitsFromTheThird = later(nodeFetch);
  globalThis.fetch = recording((input, init) =>
    ++sent <= 2 ? nodeFetch(input, init) : waitsFromTheThird(input, init),
  );
  const turning: Outcome[] = [];
  for (let i = 0; i < 5; i++) turning.push(await outcome(fetch(`${answering.origin}/t`)));
  report.turningStatuses = turning.map((o) => o.status);
  report.turningGiven = given.splice(0);
  report.globalRestored = globals[GLOBAL_DISPATCHER] === global;

  // Requests fetch refuses as written never leave: no failure of their origin's. A refused
  // connection is one.
  globalThis.fetch = nodeFetch;
  const reached = answering.requests;
  report.refusedAsWritten = [
    await outcome(fetch(`${answering.origin}/r`, { method: 'GET', body: 'x' })),
    await outcome(fetch(`${answering.origin}/r`, { headers: { 'x-id': 'a\nb' } })),
    await outcome(fetch(`${answering.origin.replace('//', '//user:secret@')}/r`)),
  ];
  report.refusedReached = answering.requests - reached;
  report.failuresAfterRefused = registry.get(`http:${answering.origin}`).snapshot().failures;
  const refusing = await refusingOrigin();
  report.connectionRefused = await outcome(fetch(`${refusing}/r`));
  report.failuresAfterConnectionRefused = registry.get(`http:${refusing}`).snapshot().failures;
  // Through a fetch that waits before it sends, the request never reaches our dispatcher: a
  // refused connection still counts.
  globalThis.fetch = later(nodeFetch);
  const alsoRefusing = await refusingOrigin();
  await outcome(fetch(`${alsoRefusing}/r`));
  report.failuresThroughWaitingFetch = registry.get(`http:${alsoRefusing}`).snapshot().failures;

  process.stdout.write(`${JSON.stringify(report)}\n`);
  await Promise.all([hanging.close(), answering.close()]);
}

void main();
