/**
 * Child process of the redirect-hops test: Node's own `fetch` as an app meets it, outside Jest's
 * sandbox (which hides undici's global dispatcher: there requests take the signal way, where
 * fetch follows a redirect unseen). Sends redirected requests through `createResilientFetch()`
 * to real upstreams and prints what happened as one JSON line: what each caller got, what each
 * upstream saw (TCP connections, requests) and what each origin's breaker counted.
 * Usage: node --require ../support/swc-register.js redirect-hops-child.ts
 */
import { isResilienceError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { createResilientFetch } from '../../src/http/resilient-fetch';
import { refusingOrigin, startUpstream } from '../support/upstream-server';

/** How a request ended: its status and final URL, or its error (and the error's cause). */
export interface HopOutcome {
  status?: number;
  url?: string;
  error?: string;
  /** The error's `code`, `breaker` and `retryAfterMs` (a resilience error's), and whether `isResilienceError()` says it is one. */
  code?: unknown;
  breaker?: unknown;
  retryAfterMs?: unknown;
  resilience?: boolean;
  cause?: { name?: string; code?: unknown; breaker?: unknown; message?: string };
}

/** What an origin's breaker counted, and what its upstream saw. */
export interface OriginSeen {
  state: string;
  calls: number;
  successes: number;
  failures: number;
  rejected: number;
  connections: number;
  requests: number;
}

/** What the child prints: each scenario's outcome, and the origins it involved. */
export interface RedirectHopsReport {
  [scenario: string]: { outcome: HopOutcome; origins: Record<string, OriginSeen> };
}

async function outcomeOf(request: Promise<Response>): Promise<HopOutcome> {
  try {
    const response = await request;
    await response.text();
    return { status: response.status, url: response.url };
  } catch (error) {
    const { name, code, breaker, retryAfterMs, cause } = error as {
      name?: string;
      code?: unknown;
      breaker?: unknown;
      retryAfterMs?: unknown;
      cause?: Record<string, unknown>;
    };
    return {
      error: name,
      code,
      breaker,
      retryAfterMs,
      resilience: isResilienceError(error),
      cause:
        cause === undefined
          ? undefined
          : {
              name: cause.name as string,
              code: cause.code,
              breaker: cause.breaker,
              message: cause.message as string,
            },
    };
  }
}

async function main(): Promise<void> {
  const [a, b, c, d, e, f, g, h, i] = await Promise.all(Array.from({ length: 9 }, () => startUpstream()));
  const refusing = await refusingOrigin();
  const registry = new BreakerRegistry();
  const fetch = createResilientFetch(registry, {
    defaults: { failureThreshold: 1, timeout: 5_000 },
    origins: { [e.origin]: { timeout: 300 }, [h.origin]: { timeout: 300 } },
  });
  const all = [a, b, c, d, e, f, g, h, i];
  const upstreams = new Map(all.map((u) => [u.origin, u]));
  const seen = (origin: string): OriginSeen => {
    const { state, calls, successes, failures, rejected } = registry.get(`http:${origin}`).snapshot();
    const upstream = upstreams.get(origin);
    return {
      state,
      calls,
      successes,
      failures,
      rejected,
      connections: upstream?.connections ?? 0,
      requests: upstream?.requests ?? 0,
    };
  };
  const report: RedirectHopsReport = {};
  const run = async (scenario: string, url: string, origins: string[], init?: RequestInit) => {
    const outcome = await outcomeOf(fetch(url, init));
    report[scenario] = { outcome, origins: Object.fromEntries(origins.map((o) => [o, seen(o)])) };
  };

  // Node loads undici on the first request (the signal way); the second learns that its fetch
  // sends through the dispatcher it is given. Every request after them goes through ours alone.
  for (let i = 0; i < 2; i++) await (await fetch(`${f.origin}/warm-up`)).text();

  // b's breaker OPEN: a redirect to it is never sent.
  b.route('/', 503);
  await (await fetch(b.origin)).text();
  a.route('/to-b', { location: `${b.origin}/moved` });
  await run('toOpenOrigin', `${a.origin}/to-b`, [a.origin, b.origin]);

  // c answers 503: c's failure, not a's.
  c.route('/moved', 503);
  a.route('/to-c', { location: `${c.origin}/moved` });
  await run('toFailingOrigin', `${a.origin}/to-c`, [a.origin, c.origin]);

  // Nothing listens at the origin redirected to: its failure, not a's.
  a.route('/to-refusing', { location: `${refusing}/moved` });
  await run('toRefusingOrigin', `${a.origin}/to-refusing`, [a.origin, refusing]);

  // A redirect within d: one call of d's breaker, judged by the last answer.
  d.route('/first', { location: `${d.origin}/second` });
  d.route('/second', 503);
  await run('withinOneOrigin', `${d.origin}/first`, [d.origin]);

  // e never answers: e's own timeout (300 ms) ends the request, counted on e.
  e.route('/moved', 'hang');
  f.route('/to-e', { location: `${e.origin}/moved` });
  await run('toHangingOrigin', `${f.origin}/to-e`, [f.origin, e.origin]);

  // The caller aborts while g has not answered: counted nowhere.
  g.route('/moved', 'hang');
  f.route('/to-g', { location: `${g.origin}/moved` });
  const controller = new AbortController();
  const g1 = g.requests;
  setTimeout(function abortOnceReceived() {
    if (g.requests > g1) controller.abort();
    else setTimeout(abortOnceReceived, 5);
  }, 5);
  await run('callerAbortsHop', `${f.origin}/to-g`, [f.origin, g.origin], { signal: controller.signal });

  // h's own timeout (300 ms) ends the request while g has not answered: h's, not g's.
  h.route('/to-g', { location: `${g.origin}/moved` });
  await run('firstOriginTimesOut', `${h.origin}/to-g`, [h.origin, g.origin]);

  // a redirects to i, which redirects back to a: a's second hop is a call of a's breaker too.
  a.route('/to-i', { location: `${i.origin}/back` });
  i.route('/back', { location: `${a.origin}/final` });
  a.route('/final', 503);
  await run('backToFirstOrigin', `${a.origin}/to-i`, [a.origin, i.origin]);

  process.stdout.write(`${JSON.stringify(report)}\n`);
  await Promise.all(all.map((u) => u.close()));
}

void main();
