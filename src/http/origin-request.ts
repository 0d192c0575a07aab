import type { Breaker } from '../core/breaker';
import type { BreakerTimeoutError } from '../core/errors';
import { traceCall, traceError, type TracedSpan } from '../tracing/call-tracing';
import { FailedResponseError, isFailureStatus, noteCallerAbort } from './http-failure';

/** What is read of a caller's signal: an `AbortSignal`, or an old polyfill of one. */
interface CallerSignal {
  readonly aborted: boolean;
}

/**
 * Sends one request through its origin's breaker: while the breaker is OPEN it fails at once
 * with `BreakerOpenError` and `send` is never called (no connection is opened). `send` gets a
 * signal that aborts on the caller's own `signal` and on the breaker's `timeout` (undefined when
 * there is neither, so that the request is sent as the caller wrote it). A response
 * whose status counts as a failure is counted as one and still returned unchanged; an error
 * is counted (unless the caller aborted) and thrown unchanged.
 */
export function sendThroughBreaker<R extends { status: number }>(
  breaker: Breaker,
  signal: AbortSignal | undefined,
  send: (signal: AbortSignal | undefined) => Promise<R>,
): Promise<R> {
  const span = traceCall(breaker);
  // Without a timeout the breaker's signal never aborts, and it is one signal for every call: a
  // client would pile a listener per request on it. Only a signal that can abort is passed on.
  const timed = breaker.options.timeout !== false;
  const call = breaker.execute((breakerSignal) =>
    counted(
      breaker,
      signal,
      send(!timed ? signal : signal === undefined ? breakerSignal : AbortSignal.any([signal, breakerSignal])),
    ),
  );
  return answered(call, span);
}

/**
 * `sendThroughBreaker()` for a client that can cancel a request it has sent without an abort
 * signal (an axios cancel token): `send` sends it as the caller wrote it, and when the breaker's
 * `timeout` ends the call, `cancel` is told; `settled` hears when the request settles. `signal`
 * (the caller's own) is only read, to tell the caller's aborts from the origin's failures.
 */
export function sendCancellable<R extends { status: number }>(
  breaker: Breaker,
  signal: CallerSignal | undefined,
  send: () => Promise<R>,
  cancel: (error: BreakerTimeoutError) => void,
  settled: () => void,
): Promise<R> {
  const span = traceCall(breaker);
  return answered(
    breaker.executeNotified(() => counted(breaker, signal, send(), settled), cancel),
    span,
  );
}

/**
 * What the breaker is given for a request: a failure status turned into an error it counts, and
 * an abort by the caller (its signal, or an axios cancellation: the breaker's own comes only
 * after its timeout has settled the call) marked as one.
 */
function counted<R extends { status: number }>(
  breaker: Breaker,
  signal: CallerSignal | undefined,
  request: Promise<R>,
  settled?: () => void,
): Promise<R> {
  return request.then(
    (response) => {
      settled?.();
      if (isFailureStatus(response.status)) throw new FailedResponseError(response, breaker.name);
      return response;
    },
    (error: unknown) => {
      settled?.();
      if (signal?.aborted || (error as { __CANCEL__?: unknown } | null)?.__CANCEL__ === true)
        noteCallerAbort(error);
      throw error;
    },
  );
}

/** What the caller gets: the response a failure stood for, or any other error as it is. */
function answered<R>(call: Promise<R>, span: TracedSpan | undefined): Promise<R> {
  return call.catch((error: unknown) => {
    if (error instanceof FailedResponseError) return error.response as R;
    if (span !== undefined) traceError(span, error);
    throw error;
  });
}
