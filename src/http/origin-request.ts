import type { Breaker } from '../core/breaker';
import { traceCall, traceError } from '../tracing/call-tracing';
import { FailedResponseError, isFailureStatus, noteCallerAbort } from './http-failure';

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
  return breaker
    .execute((breakerSignal) =>
      send(
        !timed ? signal : signal === undefined ? breakerSignal : AbortSignal.any([signal, breakerSignal]),
      ).then(
        (response) => {
          if (isFailureStatus(response.status)) throw new FailedResponseError(response, breaker.name);
          return response;
        },
        (error: unknown) => {
          if (signal?.aborted) noteCallerAbort(error);
          throw error;
        },
      ),
    )
    .catch((error: unknown) => {
      // The response a failure stood for goes back to the caller; any other error is thrown as it is.
      if (error instanceof FailedResponseError) return error.response;
      if (span !== undefined) traceError(span, error);
      throw error;
    }) as Promise<R>;
}
