import type { OriginBreakers } from './origin-breakers';
import { isBreakerOf } from './origin';
import type { CallerSignal } from './origin-request';
import { sendHop, tellsAnswer, type RedirectHop } from './redirect-hop';

/**
 * The part of an undici dispatcher (Node's `fetch`) a request goes through: structural, so that
 * undici stays an optional dependency.
 */
export interface UndiciDispatcher {
  dispatch(options: object, handler: UndiciHandler): boolean;
  readonly isMockActive?: boolean;
}

/**
 * The part of an undici request handler that hears how to abort its request, and how its origin
 * answered. Node's `fetch` (undici 6 and 7) keeps the abort function it is handed as its
 * handler's `abort`, null until the request connects.
 */
export interface UndiciHandler {
  onConnect?(abort: (reason?: unknown) => void, context?: unknown): void;
  abort?: ((reason?: unknown) => void) | null;
  onHeaders?(status: number, ...rest: unknown[]): unknown;
  onError?(error: unknown): void;
}

/** What a dispatcher reads of the options a request is dispatched with: its origin (`URL.origin` from Node's `fetch`). */
interface DispatchOptions {
  readonly origin?: unknown;
}

/** What a dispatcher knows of the request it carries. */
export interface CarriedRequest {
  /** The breaker of the origin the request was sent to first: `http:<origin>`. */
  readonly breaker: string;
  readonly callerSignal: CallerSignal | undefined;
}

/** Where undici (Node's `fetch` and the `undici` package alike) keeps the global dispatcher. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const globals = globalThis as Record<symbol, UndiciDispatcher | undefined>;

/**
 * The dispatcher one request is given, so that the breaker's timeout can abort it without an
 * `AbortSignal`: on Node 20 a request given a signal costs undici a weak reference, a
 * finalization registry entry and a listener: half a fetch's instructions again in-process.
 * It hands the request on to `target` (the caller's own `dispatcher`, or the global one) and keeps
 * its handler (each redirect hop anew), whose abort function the timeout calls. Node's `fetch`
 * keeps that function on its handler, so a request costs no hook; another handler's `onConnect`
 * is hooked to keep it, and so is Node's when the timeout comes before the request connects.
 * Node's `fetch` follows redirects itself, dispatching each hop here: a hop to another origin
 * than the hop before goes through that origin's breaker (see `RedirectHop`).
 */
export class AbortingDispatcher implements UndiciDispatcher {
  /** True once a request went through `dispatch()` with a handler whose abort it could keep. */
  hooked = false;
  /** The request this dispatcher carries; set as that request is made. */
  request!: CarriedRequest;
  /** The last hop to another origin than the one before, once a redirect led elsewhere. */
  hop: RedirectHop | undefined;
  /** The handler of Node's `fetch` that keeps the request's abort function (none once hooked). */
  private handler: UndiciHandler | undefined;
  /** The abort function a hooked `onConnect` was handed. */
  private abortRequest: ((reason?: unknown) => void) | undefined;
  /** Why the request was aborted (a breaker's timeout); undefined while it was not. */
  reason: unknown;

  constructor(
    private readonly target: UndiciDispatcher,
    /** The breakers a hop to another origin asks. */
    private readonly origins: OriginBreakers,
  ) {}

  /** Read by undici's `fetch` (a `MockAgent` sends bodies differently). */
  get isMockActive(): boolean | undefined {
    return this.target.isMockActive;
  }

  dispatch(options: object, handler: UndiciHandler): boolean {
    // Standing in for the global dispatcher (see `sendThrough`), it stands in for this request only.
    if (globals[GLOBAL_DISPATCHER] === this) globals[GLOBAL_DISPATCHER] = this.target;
    if (typeof handler.onConnect === 'function') {
      this.hooked = true;
      this.abortRequest = undefined;
      if (handler.abort === null && this.reason === undefined) this.handler = handler;
      else {
        // A handler that does not keep its abort function, or a redirect hop after the timeout.
        this.handler = undefined;
        this.hook(handler);
      }
    }
    // Read as a string, compared with what is kept: no allocation unless a redirect leads elsewhere.
    const { origin } = options as DispatchOptions;
    const hop = this.hop;
    if (hop === undefined ? isBreakerOf(this.request.breaker, origin) : origin === hop.origin) {
      return this.target.dispatch(options, handler);
    }
    return this.toOtherOrigin(options, handler, origin);
  }

  /** Hands a hop on to the dispatcher the request goes through. */
  send(options: object, handler: UndiciHandler): boolean {
    return this.target.dispatch(options, handler);
  }

  /** Aborts the request with `reason` now, or as soon as it connects. */
  abort(reason: unknown): void {
    this.reason = reason;
    const handler = this.handler;
    if (this.abortRequest !== undefined) this.abortRequest(reason);
    else if (typeof handler?.abort === 'function') handler.abort(reason);
    else if (handler !== undefined) this.hook(handler);
  }

  /** The request settled: nothing is left to abort. */
  settled(): void {
    this.handler = undefined;
    this.abortRequest = undefined;
  }

  /**
   * A hop to another origin than the hop before (a redirect led there): through that origin's
   * breaker. A hop after the timeout (it is aborted as it connects), to an origin no breaker
   * guards, or with a handler that does not tell its answer, is sent on as it is.
   */
  private toOtherOrigin(options: object, handler: UndiciHandler, origin: unknown): boolean {
    const breaker =
      typeof origin === 'string' && this.reason === undefined ? this.origins.forUrl(origin) : undefined;
    if (breaker === undefined || !tellsAnswer(handler)) return this.target.dispatch(options, handler);
    this.hop = sendHop(breaker, origin as string, this, options, handler);
    return true;
  }

  /** Keeps the abort function `handler` is handed when it connects, and aborts then if the timeout came first. */
  private hook(handler: UndiciHandler): void {
    const onConnect = handler.onConnect as NonNullable<UndiciHandler['onConnect']>;
    handler.onConnect = (abort, context) => {
      onConnect.call(handler, abort, context);
      this.abortRequest = abort;
      if (this.reason !== undefined) abort(this.reason);
    };
  }
}

/**
 * The dispatcher a request with `init` would go through: its own, or undici's global one, which
 * a test runner's sandbox (Jest's) does not see: without one, requests keep the signal way.
 */
export function dispatcherFor(
  init: { dispatcher?: UndiciDispatcher } | undefined,
): UndiciDispatcher | undefined {
  return init?.dispatcher ?? globals[GLOBAL_DISPATCHER];
}

/**
 * Calls `fetch` so that the request goes through `dispatcher`. With a `dispatcher` of the
 * caller's own in `init`, ours takes its place there. Without one, ours stands in for undici's
 * global dispatcher while `fetch` runs, and `init` is passed as the caller wrote it: Node's
 * `fetch` reads the global dispatcher and dispatches the request before it returns (undici
 * 6 and 7), and from a non-empty `init` it builds the request the long way (~5% of a loopback
 * request's throughput on Node 20). The global one is back once the request is dispatched,
 * and at the latest when `fetch` returns.
 */
export function sendThrough<I, R>(
  fetch: (input: I, init?: RequestInit) => R,
  dispatcher: AbortingDispatcher,
  input: I,
  init: RequestInit | undefined,
): R {
  if ((init as { dispatcher?: unknown } | undefined)?.dispatcher != null) {
    // Ours implements only the part of undici's `Dispatcher` that `fetch` uses, hence the cast.
    return fetch(input, { ...init, dispatcher } as unknown as RequestInit);
  }
  const global = globals[GLOBAL_DISPATCHER];
  globals[GLOBAL_DISPATCHER] = dispatcher;
  try {
    return fetch(input, init);
  } finally {
    if (globals[GLOBAL_DISPATCHER] === dispatcher) globals[GLOBAL_DISPATCHER] = global;
  }
}

/**
 * Whether each `fetch` function sends a request through the dispatcher it is given before it
 * returns (Node's does; Bun's, Deno's, mocks and wrappers that wait before they send do not).
 */
const throughDispatcher = new WeakMap<object, boolean>();

/** What is known of `fetch`: true (its requests go through a given dispatcher), false, or undefined. */
export function abortsThroughDispatcher(fetch: object): boolean | undefined {
  return throughDispatcher.get(fetch);
}

/**
 * Learns from a request `fetch` was sending through `dispatcher` (and an abort signal) when it
 * returned: it went through, or it was answered without: then that `fetch` never uses one. A
 * request that fails before it is dispatched (a bad header, a blocked port) teaches nothing.
 */
export function learnFrom<R>(
  fetch: object,
  dispatcher: AbortingDispatcher,
  response: R | PromiseLike<R>,
): Promise<R> {
  if (dispatcher.hooked) {
    throughDispatcher.set(fetch, true);
    return Promise.resolve(response);
  }
  // A stub may answer without a promise; its caller gets the answer through one, as from fetch.
  return Promise.resolve(response).then((answer) => {
    throughDispatcher.set(fetch, false);
    return answer;
  });
}

/**
 * A request `fetch` was known to send through its dispatcher did not go through by the time it
 * returned (a wrapper that now waits before it sends): the next timed request learns anew.
 * The breaker's timeout still fails this one, but cannot abort its transfer.
 */
export function unlearn(fetch: object): void {
  throughDispatcher.delete(fetch);
}
