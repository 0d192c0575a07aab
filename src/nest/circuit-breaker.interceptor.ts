import {
  type CallHandler,
  type ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  mixin,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { catchError, type Observable } from 'rxjs';
import { type BreakerOpenError, isBreakerOpenError } from '../core/errors';
import { BreakerRegistry } from '../core/registry';
import { breakerOpenBody, retryAfterSeconds } from './breaker-open.filter';
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
 * counted twice. A rejected HTTP call answers 503 with `Retry-After`, as with the decorator.
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
        throw isBreakerOpenError(error) ? this.serviceUnavailable(context, error) : error;
      }),
    );
  }

  /** The breaker a route runs through: `Controller.handler`. */
  protected breakerName(context: ExecutionContext): string {
    return `${context.getClass().name}.${context.getHandler().name}`;
  }

  /** Sets `Retry-After` and turns a rejection into the 503 `BreakerOpenFilter` answers with. */
  private serviceUnavailable(context: ExecutionContext, error: BreakerOpenError): HttpException {
    const response: unknown = context.switchToHttp().getResponse();
    this.adapterHost.httpAdapter.setHeader(response, 'Retry-After', retryAfterSeconds(error));
    return new HttpException(breakerOpenBody(error), HttpStatus.SERVICE_UNAVAILABLE, { cause: error });
  }
}
