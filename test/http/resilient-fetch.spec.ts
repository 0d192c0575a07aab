import { CircuitState } from '../../src/core/circuit-state';
import { isResilienceError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { createResilientFetch } from '../../src/http/resilient-fetch';
import { refusingOrigin, startUpstream, type Upstream } from '../support/upstream-server';

/** Reads the body, so the connection goes back to the pool. */
async function statusOf(response: Response): Promise<number> {
  await response.text();
  return response.status;
}

describe('createResilientFetch: one breaker per origin, real upstreams', () => {
  let failing: Upstream;
  let healthy: Upstream;

  beforeEach(async () => {
    [failing, healthy] = await Promise.all([startUpstream(), startUpstream()]);
  });
  afterEach(() => Promise.all([failing.close(), healthy.close()]));

  it('opens the failing origin only, and while OPEN sends it nothing', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry, { defaults: { failureThreshold: 3 } });
    failing.answer(503);

    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${failing.origin}/quote`);
      // The failure still reaches the caller as the response it is.
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('status 503');
    }
    const breaker = registry.get(`http:${failing.origin}`);
    expect(breaker.state).toBe(CircuitState.OPEN);

    const seen = { connections: failing.connections, requests: failing.requests };
    for (let i = 0; i < 5; i++) {
      const rejection = await fetch(`${failing.origin}/quote`).catch((error: unknown) => error);
      expect(isResilienceError(rejection, 'BREAKER_OPEN')).toBe(true);
      expect(rejection).toMatchObject({ breaker: `http:${failing.origin}` });
    }
    expect({ connections: failing.connections, requests: failing.requests }).toEqual(seen);

    expect(await statusOf(await fetch(`${healthy.origin}/quote`))).toBe(200);
    expect(registry.get(`http:${healthy.origin}`).state).toBe(CircuitState.CLOSED);
  });

  it('counts 408 and 429 as failures, and not 404', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry);
    const breaker = () => registry.get(`http:${failing.origin}`);

    failing.answer(404);
    expect(await statusOf(await fetch(failing.origin))).toBe(404);
    expect(breaker().snapshot()).toMatchObject({ failures: 0, successes: 1 });

    failing.answer(408);
    expect(await statusOf(await fetch(failing.origin))).toBe(408);
    failing.answer(429);
    expect(await statusOf(await fetch(failing.origin))).toBe(429);
    expect(breaker().snapshot()).toMatchObject({ failures: 2, successes: 1 });
  });

  it('counts a refused connection and throws fetch’s own error', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry);
    const origin = await refusingOrigin();

    const error = await fetch(`${origin}/x`).catch((e: unknown) => e);

    // Jest's realm has its own TypeError: compare by name.
    expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(isResilienceError(error)).toBe(false);
    expect(registry.get(`http:${origin}`).snapshot().failures).toBe(1);
  });

  it('applies an origin’s own options over http defaults, over module defaults', async () => {
    const registry = new BreakerRegistry({ defaults: { openDuration: 5_000, failureThreshold: 9 } });
    const fetch = createResilientFetch(registry, {
      defaults: { failureThreshold: 4 },
      origins: { [failing.origin]: { failureThreshold: 1, critical: true } },
    });
    failing.answer(500);

    await statusOf(await fetch(failing.origin));
    await statusOf(await fetch(healthy.origin));

    const own = registry.get(`http:${failing.origin}`).options;
    expect(own).toMatchObject({ failureThreshold: 1, critical: true, openDuration: 5_000, preset: 'http' });
    expect(registry.get(`http:${failing.origin}`).state).toBe(CircuitState.OPEN);
    const shared = registry.get(`http:${healthy.origin}`).options;
    // Preset 'http' gives the timeout; the module's defaults and http.defaults come above it.
    expect(shared).toMatchObject({
      failureThreshold: 4,
      openDuration: 5_000,
      timeout: 30_000,
      critical: false,
    });
  });

  it('aborts a request on its own signal without counting it, and on the breaker’s timeout', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry, { defaults: { timeout: 200 } });
    failing.answer('hang');
    const breaker = () => registry.get(`http:${failing.origin}`);

    const controller = new AbortController();
    const aborted = fetch(failing.origin, { signal: controller.signal }).catch((e: unknown) => e);
    await failing.received(1);
    controller.abort();
    expect(await aborted).toMatchObject({ name: 'AbortError' });
    expect(breaker().snapshot()).toMatchObject({ failures: 0, successes: 0 });

    const timedOut = await fetch(failing.origin).catch((e: unknown) => e);
    expect(isResilienceError(timedOut, 'BREAKER_TIMEOUT')).toBe(true);
    // Both requests were given up at the upstream (in Jest's sandbox, through a signal).
    await failing.abandoned(2);
    // A timeout weighs half a failure by default.
    expect(breaker().snapshot().failures).toBe(0.5);
  });

  it('never counts a caller’s abort, whatever its reason and whatever isFailure says', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry, {
      defaults: { failureThreshold: 1, isFailure: () => true },
    });
    failing.answer('hang');

    const reasons: unknown[] = ['user navigated away', 42, undefined];
    for (const [i, reason] of reasons.entries()) {
      const controller = new AbortController();
      const aborted = fetch(failing.origin, { signal: controller.signal }).catch((e: unknown) => e);
      await failing.received(i + 1);
      controller.abort(reason);
      await aborted;
    }
    await fetch(failing.origin, { signal: AbortSignal.abort('before it started') }).catch(() => undefined);

    expect(registry.get(`http:${failing.origin}`).snapshot()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('keeps its origin breakers named, listed, and out of the maxBreakers count', async () => {
    const registry = new BreakerRegistry({ maxBreakers: 1, breakers: { payments: {} } });
    const fetch = createResilientFetch(registry);

    await statusOf(await fetch(`${failing.origin}/a`));
    await statusOf(await fetch(`${healthy.origin}/b`));

    expect(registry.all().map((b) => b.name)).toEqual([
      'payments',
      `http:${failing.origin}`,
      `http:${healthy.origin}`,
    ]);
    expect(registry.find(`http:${healthy.origin}`)).toBe(registry.get(`http:${healthy.origin}`));
    expect(() => registry.get('another')).toThrow(/maxBreakers \(1\)/);
  });

  it('drops the least recently used origin beyond maxOrigins, whatever its state', async () => {
    const third = await startUpstream();
    try {
      const registry = new BreakerRegistry();
      const fetch = createResilientFetch(registry, { maxOrigins: 2, defaults: { failureThreshold: 1 } });
      failing.answer(503);
      await statusOf(await fetch(failing.origin)); // opens http:<failing>
      await statusOf(await fetch(healthy.origin));
      await statusOf(await fetch(failing.origin).catch(() => new Response(null, { status: 599 })));

      await statusOf(await fetch(third.origin));

      // http:<failing> was used last (even though it rejected), so http:<healthy> went.
      expect(registry.all().map((b) => b.name)).toEqual([`http:${failing.origin}`, `http:${third.origin}`]);
      expect(registry.get(`http:${failing.origin}`).state).toBe(CircuitState.OPEN);
    } finally {
      await third.close();
    }
  });

  it('never drops an origin with a request in flight', async () => {
    const third = await startUpstream();
    try {
      const registry = new BreakerRegistry();
      const fetch = createResilientFetch(registry, { maxOrigins: 1 });
      failing.answer('hang');
      const hanging = fetch(failing.origin).catch(() => undefined);
      await failing.received(1);

      await statusOf(await fetch(third.origin));

      expect(registry.all().map((b) => b.name)).toEqual([`http:${failing.origin}`, `http:${third.origin}`]);
      await failing.close();
      await hanging;
      failing = await startUpstream();
    } finally {
      await third.close();
    }
  });

  it('sends a request as written when its breaker has no timeout (no shared signal collects listeners)', async () => {
    const sent: Array<RequestInit | undefined> = [];
    const original = globalThis.fetch;
    globalThis.fetch = (async (_input: unknown, init?: RequestInit) => {
      sent.push(init);
      return new Response('ok');
    }) as typeof fetch;
    try {
      const fetch = createResilientFetch(new BreakerRegistry(), { defaults: { timeout: false } });
      const init = { method: 'GET' };
      await fetch(`${healthy.origin}/x`, init);
      await fetch(`${healthy.origin}/x`);

      expect(sent).toEqual([init, undefined]);
      expect(sent[0]).toBe(init);
    } finally {
      globalThis.fetch = original;
    }
  });

  it('guards a URL given as any object fetch reads as a string (a String, one with toString())', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry, { defaults: { failureThreshold: 1 } });
    failing.answer(503);
    const link = { toString: () => `${failing.origin}/x` } as unknown as string;

    expect(await statusOf(await fetch(link))).toBe(503);
    const rejection = await fetch(new String(`${failing.origin}/x`) as unknown as string).catch(
      (e: unknown) => e,
    );
    expect(isResilienceError(rejection, 'BREAKER_OPEN')).toBe(true);
  });

  it('judges an origin by its own answer: a redirect to another origin that fails is no failure of its', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry, { defaults: { failureThreshold: 1 } });
    healthy.redirectTo(`${failing.origin}/moved`);
    failing.answer(503);

    const response = await fetch(`${healthy.origin}/quote`);
    expect({ status: await statusOf(response), url: response.url }).toEqual({
      status: 503,
      url: `${failing.origin}/moved`,
    });
    expect(registry.get(`http:${healthy.origin}`).snapshot()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('judges a URL written with three slashes by its own origin’s breaker, not another’s', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry, { defaults: { failureThreshold: 1 } });
    failing.answer(503);
    // Node's fetch reads http:///127.0.0.1:<port>/ as http://127.0.0.1:<port>/.
    const threeSlashes = (origin: string) => origin.replace('http://', 'http:///');

    expect(await statusOf(await fetch(`${threeSlashes(failing.origin)}/quote`))).toBe(503);
    expect(registry.get(`http:${failing.origin}`).state).toBe(CircuitState.OPEN);

    expect(await statusOf(await fetch(`${threeSlashes(healthy.origin)}/quote`))).toBe(200);
    expect(healthy.requests).toBe(1);
    expect(registry.get(`http:${healthy.origin}`).snapshot()).toMatchObject({
      state: 'closed',
      successes: 1,
    });
    const rejection = await fetch(`${threeSlashes(failing.origin)}/quote`).catch((e: unknown) => e);
    expect(rejection).toMatchObject({ code: 'BREAKER_OPEN', breaker: `http:${failing.origin}` });
  });

  describe('with a fetch stub that answers no response (a test’s jest.fn())', () => {
    const original = globalThis.fetch;
    afterEach(() => {
      globalThis.fetch = original;
    });

    it.each([
      ['undefined', undefined],
      ['null', null],
      ['an object with no status', { ok: true }],
    ])(
      'gives the caller %s as the stub resolved it, and counts a success, timed or not',
      async (_, answer) => {
        globalThis.fetch = (async () => answer) as unknown as typeof fetch;
        const registry = new BreakerRegistry();
        // A short timeout, so that a call left hanging fails the test at once.
        const timed = createResilientFetch(registry, {
          defaults: { timeout: 1_000 },
          origins: { [failing.origin]: { timeout: false } },
        });

        expect(await timed(`${healthy.origin}/x`)).toBe(answer);
        expect(await timed(`${failing.origin}/x`)).toBe(answer);

        for (const origin of [healthy.origin, failing.origin]) {
          expect(registry.get(`http:${origin}`).snapshot()).toMatchObject({
            successes: 1,
            failures: 0,
            inFlight: 0,
          });
        }
      },
    );

    it.each([
      ['undefined', () => undefined],
      ['a Response', () => new Response('stubbed')],
    ])(
      'gives the caller %s a stub returns without a promise, as a promise, given a dispatcher too',
      async (_, stub) => {
        const answer = stub();
        globalThis.fetch = (() => answer) as unknown as typeof fetch;
        const fetch = createResilientFetch(new BreakerRegistry(), { defaults: { timeout: 1_000 } });
        // A dispatcher of the caller's own: the request is sent through ours, learning how the stub sends.
        const dispatcher = { dispatch: () => true };

        for (let i = 0; i < 2; i++) {
          expect(await fetch(`${healthy.origin}/x`, { dispatcher } as unknown as RequestInit)).toBe(answer);
          expect(await fetch(`${healthy.origin}/x`)).toBe(answer);
        }
      },
    );
  });

  it.each([
    ['no input', []],
    ['undefined', [undefined]],
    ['null', [null]],
    ['an object with no string form', [Object.create(null)]],
    ['an object with a url, which fetch reads as a string', [{ url: 'http://127.0.0.1:9/quotes' }]],
    [
      'an object whose url throws',
      [
        {
          get url(): string {
            throw new TypeError('no url');
          },
        },
      ],
    ],
  ])('rejects %s as fetch does, with fetch’s own error, and throws nothing', async (_, args) => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry) as (...input: unknown[]) => Promise<Response>;
    const plain = globalThis.fetch as (...input: unknown[]) => Promise<Response>;
    const errorOf = (call: () => Promise<unknown>) => {
      let sent: Promise<unknown>;
      try {
        sent = call();
      } catch (error) {
        return { threw: error };
      }
      return sent.then(
        () => ({ resolved: true }),
        (error: { name: string; message: string }) => ({ name: error.name, message: error.message }),
      );
    };

    const expected = await errorOf(() => plain(...args));
    expect(expected).toMatchObject({ name: 'TypeError' });
    expect(await errorOf(() => fetch(...args))).toEqual(expected);
    expect(registry.all()).toEqual([]);
  });

  it('leaves URLs that are not http(s) to fetch, unguarded', async () => {
    const registry = new BreakerRegistry();
    const fetch = createResilientFetch(registry);

    const response = await fetch('data:text/plain,hello');

    expect(await response.text()).toBe('hello');
    expect(registry.all()).toEqual([]);
  });

  it('shares the registry’s origin breakers, and refuses other options for them', () => {
    const registry = new BreakerRegistry();
    const options = { maxOrigins: 5 };
    createResilientFetch(registry, options);

    expect(() => createResilientFetch(registry)).not.toThrow();
    expect(() => createResilientFetch(registry, options)).not.toThrow();
    expect(() => createResilientFetch(registry, { maxOrigins: 6 })).toThrow(
      /Invalid option in http: \(options\) = \{"maxOrigins":6\}; expected none: this registry’s origin breakers are configured already/,
    );
  });

  it.each([
    [{ maxOrigins: 0 }, /http\.maxOrigins = 0; expected an integer >= 1/],
    [
      { origins: { 'https://api.example.com/': {} } },
      /http\.origins = "https:\/\/api\.example\.com\/"; expected origins as URL\.origin writes them/,
    ],
    [
      { origins: { 'https://api.example.com': { timeout: -1 } } },
      /http\.origins\.https:\/\/api\.example\.com\.timeout = -1/,
    ],
    [
      { defaults: { failureThreshold: 'five' } },
      /http\.defaults\.failureThreshold = "five"; expected a number > 0/,
    ],
    [{ fetch: true }, /http\.fetch = true; expected no such option; known: defaults, origins, maxOrigins/],
  ])('refuses bad options %j naming the key', (options, message) => {
    expect(() => createResilientFetch(new BreakerRegistry(), options as never)).toThrow(message);
  });

  it('refuses to take over a breaker already named http:<origin>', () => {
    const registry = new BreakerRegistry({
      breakers: { 'http:https://api.example.com': {}, 'http:legacy': {} },
    });

    expect(() => createResilientFetch(registry)).toThrow(
      /circuit breaker "http:https:\/\/api\.example\.com": name = .*set an origin’s options in http\.origins/,
    );
  });
});

/** The parts of the handler Node's fetch hands a dispatcher (undici's) that these tests use. */
interface FetchHandler {
  abort?: unknown;
  onConnect(abort: (reason?: unknown) => void): void;
  onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onComplete(trailers: Buffer[]): void;
  onError(error: unknown): void;
}

/**
 * Outside Jest's sandbox a timed request goes through a dispatcher of ours, whose timeout aborts
 * it through the abort function Node's fetch keeps on its handler. Here a dispatcher of the
 * caller's own, which holds each request until told, shows what that fetch hands it.
 */
describe('createResilientFetch over Node’s own fetch and a dispatcher', () => {
  const url = 'http://127.0.0.1:8080/x';

  /** A dispatcher that keeps the handler of each request, unconnected and unanswered. */
  function holdingDispatcher(): { handlers: FetchHandler[]; init: RequestInit } {
    const handlers: FetchHandler[] = [];
    const dispatcher = { dispatch: (_options: object, handler: FetchHandler) => handlers.push(handler) > 0 };
    return { handlers, init: { dispatcher } as unknown as RequestInit };
  }

  /**
   * An abort function as undici's: the request fails with its reason (fetch then calls it again,
   * as it terminates).
   */
  const abortOf = (handler: FetchHandler) => jest.fn((reason?: unknown) => handler.onError(reason));

  function answer(handler: FetchHandler): void {
    handler.onConnect(abortOf(handler));
    handler.onHeaders(200, [], () => {}, 'OK');
    handler.onComplete([]);
  }

  // What the timeout relies on: were a Node's undici to stop keeping it, a connected request
  // would go on after its timeout.
  it('is handed a handler that keeps the abort function it is given, null until it connects', async () => {
    const { handlers, init } = holdingDispatcher();

    const response = globalThis.fetch(url, init);

    // Node's fetch dispatches before it returns.
    expect(handlers).toHaveLength(1);
    const [handler] = handlers as [FetchHandler];
    expect(handler.abort).toBeNull();
    const abort = abortOf(handler);
    handler.onConnect(abort);
    expect(handler.abort).toBe(abort);
    handler.onHeaders(200, [], () => {}, 'OK');
    handler.onComplete([]);
    expect((await response).status).toBe(200);
  });

  it('aborts a timed-out request at once when connected, and as it connects when not yet', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const { handlers, init } = holdingDispatcher();
      const fetch = createResilientFetch(new BreakerRegistry(), { defaults: { timeout: 1_000 } });
      // The first request through a fetch also carries a signal, and learns that this fetch sends
      // through the dispatcher it is given: the next ones carry none.
      const first = fetch(url, init);
      answer(handlers[0]!);
      expect((await first).status).toBe(200);

      const connected = fetch(url, init).catch((e: unknown) => e);
      const connecting = fetch(url, init).catch((e: unknown) => e);
      const [, connectedHandler, connectingHandler] = handlers as [FetchHandler, FetchHandler, FetchHandler];
      const abortConnected = abortOf(connectedHandler);
      connectedHandler.onConnect(abortConnected);
      await jest.advanceTimersByTimeAsync(1_000);

      expect(isResilienceError(await connected, 'BREAKER_TIMEOUT')).toBe(true);
      expect(isResilienceError(abortConnected.mock.calls[0]?.[0], 'BREAKER_TIMEOUT')).toBe(true);
      expect(isResilienceError(await connecting, 'BREAKER_TIMEOUT')).toBe(true);
      const abortConnecting = abortOf(connectingHandler);
      connectingHandler.onConnect(abortConnecting);
      expect(isResilienceError(abortConnecting.mock.calls[0]?.[0], 'BREAKER_TIMEOUT')).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});
