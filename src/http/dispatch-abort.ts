/**
 * The part of an undici dispatcher (Node's `fetch`) a request goes through: structural, so that
 * undici stays an optional dependency.
 */
export interface UndiciDispatcher {
  dispatch(options: object, handler: UndiciHandler): boolean;
  readonly isMockActive?: boolean;
}

/** The part of an undici request handler that hears how to abort its request. */
interface UndiciHandler {
  onConnect?(abort: (reason?: unknown) => void, context?: unknown): void;
}

/** Where undici (Node's `fetch` and the `undici` package alike) keeps the global dispatcher. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/**
 * The dispatcher one request is given, so that the breaker's timeout can abort it without an
 * `AbortSignal`: on Node 20 a request given a signal costs undici a weak reference, a
 * finalization registry entry and a listener: 10–30 µs per request in-process.
 * It hands the request on to `target` (the caller's own `dispatcher`, or the global one) and keeps the
 * abort function undici gives the request when it is connected (each redirect hop anew).
 */
export class AbortingDispatcher implements UndiciDispatcher {
  /** True once a request went through `dispatch()` with a handler whose abort it could keep. */
  hooked = false;
  private abortRequest: ((reason?: unknown) => void) | undefined;
  private reason: unknown;

  constructor(
    private readonly target: UndiciDispatcher,
    /** The `fetch` that sends the request, when it is not known yet whether it uses dispatchers. */
    private readonly learner?: object,
  ) {}

  /** Read by undici's `fetch` (a `MockAgent` sends bodies differently). */
  get isMockActive(): boolean | undefined {
    return this.target.isMockActive;
  }

  dispatch(options: object, handler: UndiciHandler): boolean {
    const onConnect = handler.onConnect;
    if (typeof onConnect === 'function') {
      this.hooked = true;
      if (this.learner !== undefined) throughDispatcher.set(this.learner, true);
      handler.onConnect = (abort, context) => {
        onConnect.call(handler, abort, context);
        this.abortRequest = abort;
        if (this.reason !== undefined) abort(this.reason);
      };
    }
    return this.target.dispatch(options, handler);
  }

  /** Aborts the request with `reason` now, or as soon as it connects. */
  abort(reason: unknown): void {
    this.reason = reason;
    this.abortRequest?.(reason);
  }

  /** The request settled: nothing is left to abort. */
  settled(): void {
    this.abortRequest = undefined;
  }
}

/**
 * The dispatcher a request with `init` would go through: its own, or undici's global one, which
 * a test runner's sandbox (Jest's) does not see: without one, requests keep the signal way.
 */
export function dispatcherFor(
  init: { dispatcher?: UndiciDispatcher } | undefined,
): UndiciDispatcher | undefined {
  return init?.dispatcher ?? (globalThis as Record<symbol, UndiciDispatcher | undefined>)[GLOBAL_DISPATCHER];
}

/**
 * Whether each `fetch` function sends its requests through the dispatcher it is given (Node's
 * and undici's do; Bun's, Deno's and mocks do not): learned from a timed request given both the
 * dispatcher and an abort signal, when it is dispatched or else when its response comes.
 */
const throughDispatcher = new WeakMap<object, boolean>();

/** What is known of `fetch`: true (its requests go through a given dispatcher), false, or undefined. */
export function abortsThroughDispatcher(fetch: object): boolean | undefined {
  return throughDispatcher.get(fetch);
}

/** `fetch` answered a request given `dispatcher`: if it never went through it, it never will. */
export function learnAnswered(fetch: object, dispatcher: AbortingDispatcher): void {
  if (!dispatcher.hooked) throughDispatcher.set(fetch, false);
}
