import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Inject } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type BreakerOpenError, isBreakerOpenError } from '../core/errors';

/** The JSON body of a 503 answered for a breaker that rejected the call. @publicApi */
export interface BreakerOpenResponseBody {
  statusCode: 503;
  error: 'Service Unavailable';
  message: string;
  /** The breaker that rejected the call (`name:key` for a per-key breaker). */
  breaker: string;
  /** How long until the breaker may let a call through. */
  retryAfterMs: number;
}

/**
 * Stands for `BreakerOpenError` in `@Catch()`: Nest picks a filter with `instanceof`, and this
 * answers by the error's `code`, so errors thrown by another copy of the package match too.
 */
abstract class BreakerOpenErrorBrand {
  static [Symbol.hasInstance](value: unknown): boolean {
    return isBreakerOpenError(value);
  }
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

/** `Retry-After` in whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(error: BreakerOpenError): string {
  return String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
}

/**
 * Answers an HTTP request whose breaker rejected the call with 503, a `Retry-After` header and
 * a {@link BreakerOpenResponseBody}. `@CircuitBreaker` binds it to the handlers and controllers
 * it decorates; to map rejections that reach undecorated routes too (a decorated provider
 * method called from a plain controller), register it for the whole app:
 * `{ provide: APP_FILTER, useClass: BreakerOpenFilter }`.
 *
 * Outside HTTP (RPC, WebSockets, GraphQL) it leaves the error to the context's own handling.
 * @publicApi
 */
@Catch(BreakerOpenErrorBrand)
export class BreakerOpenFilter implements ExceptionFilter<BreakerOpenError> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: BreakerOpenError, host: ArgumentsHost): void {
    // Returning nothing outside HTTP means "not handled" to Nest's external exception handler.
    if (host.getType() !== 'http') return;
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    httpAdapter.setHeader(response, 'Retry-After', retryAfterSeconds(error));
    httpAdapter.reply(response, breakerOpenBody(error), HttpStatus.SERVICE_UNAVAILABLE);
  }
}
