import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Inject } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type BreakerTimeoutError, isBreakerTimeoutError } from '../core/errors';
import { type BreakerHttpReply, errorBrand, replyOverHttp } from './breaker-http-reply';

/** The JSON body of a 504 answered for a call that outlasted its breaker's `timeout`. @publicApi */
export interface BreakerTimeoutResponseBody {
  statusCode: 504;
  error: 'Gateway Timeout';
  message: string;
  /** The breaker whose `timeout` elapsed (`name#key` for a per-key breaker). */
  breaker: string;
  /** The breaker's `timeout`, in ms. */
  timeoutMs: number;
}

/** The body of the 504 that stands for `error`. */
export function breakerTimeoutBody(error: BreakerTimeoutError): BreakerTimeoutResponseBody {
  return {
    statusCode: HttpStatus.GATEWAY_TIMEOUT,
    error: 'Gateway Timeout',
    message: error.message,
    breaker: error.breaker,
    timeoutMs: error.timeoutMs,
  };
}

/** The 504 that stands for `error`. No `Retry-After`: the breaker may well let the next call through. */
export function breakerTimeoutReply(
  error: BreakerTimeoutError,
): BreakerHttpReply<BreakerTimeoutResponseBody> {
  return { status: HttpStatus.GATEWAY_TIMEOUT, body: breakerTimeoutBody(error) };
}

/**
 * Answers an HTTP request whose call outlasted its breaker's `timeout` (a
 * `BreakerTimeoutError`: the call's `AbortSignal` was aborted) with 504 and a
 * {@link BreakerTimeoutResponseBody}. `@CircuitBreaker` binds it, with
 * {@link BreakerOpenFilter}, to the handlers and controllers it decorates. To map the errors
 * that reach undecorated routes too (a decorated provider method called from a plain
 * controller), register both filters for the whole app:
 * `{ provide: APP_FILTER, useClass: BreakerOpenFilter }` and
 * `{ provide: APP_FILTER, useClass: BreakerTimeoutFilter }`.
 *
 * Outside HTTP (RPC, WebSockets, GraphQL) it leaves the error to the context's own handling.
 * @publicApi
 */
@Catch(errorBrand(isBreakerTimeoutError))
export class BreakerTimeoutFilter implements ExceptionFilter<BreakerTimeoutError> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: BreakerTimeoutError, host: ArgumentsHost): void {
    replyOverHttp(this.adapterHost, host, breakerTimeoutReply(error));
  }
}
