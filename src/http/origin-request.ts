import type { Breaker } from '../core/breaker';
import type { BreakerTimeoutError } from '../core/errors';
import type { WatchedCall } from '../core/watched-call';
import { traceCall, traceError } from '../tracing/call-tracing';
import { FailedResponseError, isFailureStatus } from './http-failure';

/** What is read of a caller's signal: an `AbortSignal`, or an old polyfill of one. */
export interface CallerSignal {
  readonly aborted: boolean;
}

/**
 * One outgoing request as its origin's breaker runs it: a response whose status counts as a
 * failure (5xx, 408, 429) is counted as one and still returned unchanged; an error is judged by
 * the breaker's `isFailure` and thrown unchanged, unless the caller aborted (its signal, or an
 * axios cancellation, since the breaker's own comes only after its timeout has settled the
 * call) or the request was never sent: those are never counted. Each client says how a request
 * is sent and how the breaker's timeout aborts it.
 */
export abstract class OriginRequest<
  R extends { status: number },
  S extends CallerSignal = CallerSignal,
> implements WatchedCall<R> {
  constructor(
    /** The origin's breaker: `http:<origin>`. */
    readonly breaker: string,
    /** The caller's own signal. */
    readonly callerSignal: S | undefined,
  ) {}

  /** Sends the request. */
  abstract start(): Promise<R>;

  /** Aborts the request: the breaker's timeout ended it. */
  abstract timedOut(error: BreakerTimeoutError): void;

  /**
   * What a value with no numeric `status` (a stub's `undefined`, a mock's plain object) is: a
   * success, since no origin answered with a failure; its caller gets it unchanged.
   */
  failureOf(response: R): FailedResponseError<R> | undefined {
    this.settled();
    const status = (response as Partial<R> | null | undefined)?.status;
    return typeof status === 'number' && isFailureStatus(status)
      ? new FailedResponseError(response, this.breaker)
      : undefined;
  }

  failed(error: unknown): boolean | 'success' {
    this.settled();
    const cancelled = (error as { __CANCEL__?: unknown } | null)?.__CANCEL__ === true;
    return !this.callerSignal?.aborted && !cancelled && this.sent(error);
  }

  /** The request settled: nothing is left to abort. */
  protected settled(): void {}

  /**
   * Whether the request that failed with `error` was sent: one its client refused as written (a
   * bad header, a body with GET) is no fault of its origin. True where the client does not tell.
   */
  protected sent(_error: unknown): boolean {
    return true;
  }
}

/**
 * Sends `request` through `breaker`, its origin's: while the breaker is OPEN it fails at once
 * with `BreakerOpenError` and is never started (no connection is opened).
 */
export function sendThroughBreaker<R extends { status: number }>(
  breaker: Breaker,
  request: OriginRequest<R>,
): Promise<R> {
  const span = traceCall(breaker);
  const call = breaker.executeWatched(request);
  if (span === undefined) return call;
  return call.catch((error: unknown) => {
    traceError(span, error);
    throw error;
  });
}
