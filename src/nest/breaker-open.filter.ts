import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Inject } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type BreakerOpenError, isBreakerOpenError } from '../core/errors';
import { type BreakerHttpReply, errorBrand, replyOverHttp } from './breaker-http-reply';

/** The JSON body of a 503 answered for a breaker that rejected the call. @publicApi */
export interface BreakerOpenResponseBody {
  statusCode: 503;
  error: 'Service Unavailable';
  message: string;
  /** The breaker that rejected the call (`name#key` for a per-key breaker). */
  breaker: string;
  /** How long until the breaker may let a call through. */
  retryAfterMs: number;
}

/** The body of the 503 that stands for `error`. */
export function breakerOpenBody(error: BreakerOpenError): BreakerOpenResponseBody {
  return {
    statusCode: HttpStatus.SERVICE_UNAVAILABLE,
    error: 'Service Unavailable',
    message: error.message,
    breaker: error.breaker,
    retryAfterMs: error.retryAfterMs,
  };
}

/** The 503 that stands for `error`: its body and `Retry-After`. */
export function breakerOpenReply(error: BreakerOpenError): BreakerHttpReply<BreakerOpenResponseBody> {
  return {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    body: breakerOpenBody(error),
    headers: { 'Retry-After': retryAfterSeconds(error) },
  };
}

/** `Retry-After` in whole seconds, rounded up, at least 1. */
function retryAfterSeconds(error: BreakerOpenError): string {
  return String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
}

/**
 * Answers an HTTP request whose breaker rejected the call with 503, a `Retry-After` header and
 * a {@link BreakerOpenResponseBody}. `@CircuitBreaker` binds it, with
 * {@link BreakerTimeoutFilter}, to the handlers and controllers it decorates. To map the errors
 * that reach undecorated routes too (a decorated provider method called from a plain
 * controller), register both filters for the whole app:
 * `{ provide: APP_FILTER, useClass: BreakerOpenFilter }` and
 * `{ provide: APP_FILTER, useClass: BreakerTimeoutFilter }`.
 *
 * Outside HTTP (RPC, WebSockets, GraphQL) it leaves the error to the context's own handling.
 * @publicApi
 */
@Catch(errorBrand(isBreakerOpenError))
export class BreakerOpenFilter implements ExceptionFilter<BreakerOpenError> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: BreakerOpenError, host: ArgumentsHost): void {
    replyOverHttp(this.adapterHost, host, breakerOpenReply(error));
  }
}
