import type { Breaker } from '../core/breaker';
import type { BreakerTimeoutError } from '../core/errors';
import type { AbortingDispatcher, UndiciHandler } from './dispatch-abort';
import { OriginRequest, sendThroughBreaker } from './origin-request';

/** What the breaker of a hop's origin judges: the status that origin answered with. */
export interface HopAnswer {
  readonly status: number;
}

/** A handler that tells its hop's answer, as Node's `fetch` gives one. */
type AnsweringHandler = UndiciHandler & Required<Pick<UndiciHandler, 'onHeaders' | 'onError'>>;

/** Whether `handler` tells its hop's answer (its status, or the error it failed with). */
export function tellsAnswer(handler: UndiciHandler): handler is AnsweringHandler {
  return typeof handler.onHeaders === 'function' && typeof handler.onError === 'function';
}

/**
 * One hop of a redirected `fetch` to another origin than the hop before, as that origin's
 * breaker runs it (Node's `fetch` follows redirects itself and dispatches each hop through the
 * request's dispatcher, see `AbortingDispatcher`). The hop is sent only once the breaker admits
 * it: while it is OPEN the hop is never sent (no connection) and the request fails with the
 * breaker's `BreakerOpenError`, which Node's `fetch` gives its caller as the `cause` of its
 * `TypeError`, as it does whatever a hop fails with. Otherwise the hop is one call of that
 * breaker, judged by the status it answers (a 5xx, 408 or 429 is a failure, a redirect on or any
 * other status a success) or the network error it fails with; its timeout aborts the request.
 * A hop the request's own abort ends (the caller's signal, the first origin's timeout) is never
 * counted.
 */
export class RedirectHop extends OriginRequest<HopAnswer> {
  private started = false;
  /**
   * The error of this origin's breaker that ended the request (it refused the hop, or the hop
   * timed out); `fetch` fails with a `TypeError` whose `cause` it is.
   */
  stoppedBy: unknown;

  constructor(
    breaker: string,
    /** The origin the hop goes to, as the request's dispatch options wrote it. */
    readonly origin: string,
    private readonly request: AbortingDispatcher,
    private readonly options: object,
    private readonly handler: AnsweringHandler,
  ) {
    super(breaker, request.request.callerSignal);
  }

  start(): Promise<HopAnswer> {
    this.started = true;
    const { handler, request } = this;
    return new Promise<HopAnswer>((resolve, reject) => {
      const { onHeaders, onError } = handler;
      handler.onHeaders = function (this: unknown, status, ...rest) {
        // Informational answers (1xx) come before the answer.
        if (status >= 200) resolve({ status });
        return onHeaders.call(this, status, ...rest);
      };
      handler.onError = function (this: unknown, error) {
        reject(error);
        onError.call(this, error);
      };
      // Aborted while its breaker decided (a fleet's trial): never sent.
      if (request.reason !== undefined) handler.onError(request.reason);
      else request.send(this.options, handler);
    });
  }

  timedOut(error: BreakerTimeoutError): void {
    this.stoppedBy = error;
    this.request.abort(error);
  }

  override failed(error: unknown): boolean | 'success' {
    // The request was aborted (the first origin's timeout, or this hop's own, counted already).
    if (this.request.reason !== undefined) return false;
    return super.failed(error);
  }

  /** The breaker refused the hop before it was sent: the request fails with the breaker's error. */
  refused(error: unknown): void {
    if (this.started) return;
    this.stoppedBy = error;
    this.handler.onError(error);
  }
}

/**
 * Sends a hop of `request` to `origin` through `breaker`, that origin's. Returns the hop; it
 * settles with its answer, or fails the request when the breaker refuses it.
 */
export function sendHop(
  breaker: Breaker,
  origin: string,
  request: AbortingDispatcher,
  options: object,
  handler: AnsweringHandler,
): RedirectHop {
  const hop = new RedirectHop(breaker.name, origin, request, options, handler);
  sendThroughBreaker(breaker, hop).then(undefined, (error: unknown) => hop.refused(error));
  return hop;
}
