import {
  type CallHandler,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  mixin,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { catchError, type Observable } from 'rxjs';
import { isBreakerOpenError, isBreakerTimeoutError } from '../core/errors';
import { BreakerRegistry } from '../core/registry';
import { type BreakerHttpReply, setReplyHeaders } from './breaker-http-reply';
import { breakerOpenReply, type BreakerOpenResponseBody } from './breaker-open.filter';
import { breakerTimeoutReply, type BreakerTimeoutResponseBody } from './breaker-timeout.filter';
import { observeThroughBreaker } from './breaker-call';
import { getCircuitBreakerMetadata } from './circuit-breaker.decorator';
import { SKIP_BREAKER_METADATA } from './resilience.constants';

/**
 * Protects route handlers with circuit breakers, one per route named `Controller.handler`.
 * `CircuitBreakerInterceptor.for('payments')` gives an interceptor that runs every route it
 * protects through the one breaker `payments`.
 *
 * Use it with `@UseInterceptors()` on a controller or a handler, or for the whole app with
 * `{ provide: APP_INTERCEPTOR, useClass: CircuitBreakerInterceptor }`. Handlers (or
 * controllers) decorated with `@CircuitBreaker` are left to their decorator, so no call is
 * counted twice. A rejected HTTP call answers 503 with `Retry-After` and one that outlasts
 * the breaker's `timeout` 504, as with the decorator, but as an `HttpException`: the app's own
 * exception filters see them.
 * The response streams through (SSE included); the call's outcome is recorded when it ends.
 *
 * Subclass it and override {@link breakerName} to name breakers differently.
 * @publicApi
 */
@Injectable()
export class CircuitBreakerInterceptor implements NestInterceptor {
  constructor(
    @Inject(BreakerRegistry) protected readonly registry: BreakerRegistry,
    @Inject(HttpAdapterHost) protected readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * An interceptor class that runs every route it protects through the breaker `name`.
   * @example
   * \@UseInterceptors(CircuitBreakerInterceptor.for('payments'))
   */
  static for(name: string): Type<CircuitBreakerInterceptor> {
    class NamedCircuitBreakerInterceptor extends CircuitBreakerInterceptor {
      protected override breakerName(): string {
        return name;
      }
    }
    return mixin(NamedCircuitBreakerInterceptor);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // A class-level @CircuitBreaker wraps every handler too, so the handler alone tells.
    if (
      getCircuitBreakerMetadata(context.getHandler()) ||
      Reflect.getMetadata(SKIP_BREAKER_METADATA, context.getClass())
    ) {
      return next.handle();
    }
    const calls = observeThroughBreaker(this.registry.get(this.breakerName(context)), () => next.handle());
    if (context.getType() !== 'http') return calls;
    return calls.pipe(
      catchError((error: unknown) => {
        throw this.toHttpError(context, error);
      }),
    );
  }

  /** The breaker a route runs through: `Controller.handler`. */
  protected breakerName(context: ExecutionContext): string {
    return `${context.getClass().name}.${context.getHandler().name}`;
  }

  /**
   * A rejection or a timeout as the `HttpException` (503 or 504) that `BreakerOpenFilter` or
   * `BreakerTimeoutFilter` would answer with, its headers set; any other error as it is.
   */
  private toHttpError(context: ExecutionContext, error: unknown): unknown {
    const reply = breakerReply(error);
    if (reply === undefined) return error;
    setReplyHeaders(this.adapterHost, context.switchToHttp().getResponse(), reply);
    return new HttpException(reply.body, reply.status, { cause: error });
  }
}

/** The reply that stands for `error` when it is a rejection or a timeout. */
function breakerReply(
  error: unknown,
): BreakerHttpReply<BreakerOpenResponseBody | BreakerTimeoutResponseBody> | undefined {
  if (isBreakerOpenError(error)) return breakerOpenReply(error);
  if (isBreakerTimeoutError(error)) return breakerTimeoutReply(error);
  return undefined;
}
