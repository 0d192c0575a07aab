import type { BreakerRegistry } from '../core/registry';
import { checkHttpOptions, RESILIENT_FETCH_OPTIONS } from './http-option-table';
import type { ResilientFetchOptions } from './http-options';
import { originBreakersOf, type OriginBreakers } from './origin-breakers';
import { abortsThroughDispatcher, AbortingDispatcher, dispatcherFor } from './dispatch-abort';
import { DispatchedFetch, LearningFetch, SignalledFetch } from './fetch-request';
import { sendThroughBreaker } from './origin-request';

type Fetch = typeof globalThis.fetch;

/** The fetch each protected global fetch of ours stands in front of. */
const underlying = new WeakMap<Fetch, Fetch>();

/**
 * A `fetch` whose every request goes through the breaker of its origin (`http:<origin>` in
 * `registry`), without touching the global `fetch`:
 * - a response with status 5xx, 408 or 429, or a network error, counts as a failure; the
 *   caller still gets that response (or error) unchanged;
 * - while the origin's breaker is OPEN a request fails at once with `BreakerOpenError` and
 *   opens no connection;
 * - the request's own `signal` and the breaker's `timeout` both abort it (a timeout fails it
 *   with `BreakerTimeoutError`); an abort by the caller is never the origin's fault.
 *
 * `options` configure the registry's origin breakers the first time they are needed; without
 * them the module's `http` settings apply (or the defaults). Every protected client of one
 * registry shares its origin breakers. Requests go to the global `fetch` as it is when they are
 * sent (a test's fetch mock included), never through a protection the module installed.
 * @throws {InvalidBreakerOptionsError} (scope `http`) for bad options, or options that differ
 * from the ones the registry's origin breakers were made with.
 * @example
 * const fetch = createResilientFetch(registry, { origins: { 'https://api.example.com': { timeout: 5_000 } } });
 * const response = await fetch('https://api.example.com/quotes');
 * @publicApi
 */
export function createResilientFetch(registry: BreakerRegistry, options?: ResilientFetchOptions): Fetch {
  if (options !== undefined) checkHttpOptions(RESILIENT_FETCH_OPTIONS, options);
  return protectFetch(plainGlobalFetch, originBreakersOf(registry, options));
}

/** Protections of ours that were taken off but may still be the global fetch, or under it. */
const retired = new WeakSet<Fetch>();

/**
 * Protects the global `fetch` with `origins` until the function it returns is called. From
 * then on requests pass this protection unguarded, and the global `fetch` loses every
 * protection of ours at its top that was taken off: with two apps protecting it, whichever
 * closes last puts the original back. (When something else replaced the global `fetch` since,
 * it is left alone.)
 */
export function protectGlobalFetch(origins: OriginBreakers): () => void {
  const original = globalThis.fetch;
  const guarded = protectFetch(() => original, origins);
  let active = true;
  const installed: Fetch = (input, init) => (active ? guarded(input, init) : original(input, init));
  underlying.set(installed, original);
  globalThis.fetch = installed;
  return () => {
    active = false;
    retired.add(installed);
    // One taken off under another app's still protects nothing; it goes with the one above it.
    for (let top = globalThis.fetch; retired.has(top); top = globalThis.fetch) {
      globalThis.fetch = underlying.get(top) as Fetch;
    }
  };
}

/** Whether `fetch` is a protection of ours (the global fetch, while `http.fetch` is on). */
export function isProtectedFetch(fetch: unknown): boolean {
  return underlying.has(fetch as Fetch);
}

/** The global fetch without the protections of ours in front of it. */
export function plainGlobalFetch(): Fetch {
  let fetch = globalThis.fetch;
  for (let inner = underlying.get(fetch); inner !== undefined; inner = underlying.get(fetch)) fetch = inner;
  return fetch;
}

function protectFetch(base: () => Fetch, origins: OriginBreakers): Fetch {
  return function resilientFetch(input, init) {
    let url: string | URL;
    let request: Request | undefined;
    if (typeof input === 'string' || input instanceof URL) url = input;
    else {
      try {
        request = asRequest(input);
        // Anything else fetch takes it reads as a string (a String object, an object with toString()).
        url = request?.url ?? String(input);
      } catch {
        // Input with no string form: fetch rejects it (it never throws), with its own error.
        return base()(input, init);
      }
    }
    const breaker = origins.forUrl(url);
    if (breaker === undefined) return base()(input, init);
    const fetch = base();
    const signal = init?.signal ?? request?.signal ?? undefined;
    const timed = breaker.options.timeout !== false;
    // A Request carries its own dispatcher, which only undici can read: it keeps the signal way.
    const target = !timed || request !== undefined ? undefined : dispatcherFor(init);
    if (target !== undefined) {
      const through = abortsThroughDispatcher(fetch);
      if (through !== false) {
        // Not known yet whether this fetch sends through a dispatcher: a LearningFetch carries both ways.
        const Sent = through === true ? DispatchedFetch : LearningFetch;
        const dispatcher = new AbortingDispatcher(target, origins);
        return sendThroughBreaker(breaker, new Sent(breaker.name, signal, fetch, input, init, dispatcher));
      }
    }
    return sendThroughBreaker(breaker, new SignalledFetch(breaker.name, signal, fetch, input, init, timed));
  };
}

/**
 * `input` as a `Request`; undefined for what fetch reads as a string. Only the runtime's own
 * `Request` is one: fetch reads any other object, one with a `url` too, as a string.
 */
function asRequest(input: unknown): Request | undefined {
  return typeof Request === 'function' && input instanceof Request ? input : undefined;
}
