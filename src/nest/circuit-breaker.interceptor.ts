import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  mixin,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { catchError, type Observable } from 'rxjs';
import { BreakerRegistry } from '../core/registry';
import { observeThroughBreaker } from './breaker-call';
import { ResilienceErrorMapper } from './error-mapping/resilience-error.mapper';
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
 * the breaker's `timeout` 504, thrown as Nest's `HttpException`s (unless the module's
 * `mapErrors` is `false`): the app's own exception filters see them. It maps them itself, so
 * they answer the same wherever it sits among the app's global interceptors.
 * The response streams through (SSE included); the call's outcome is recorded when it ends.
 *
 * Subclass it and override {@link breakerName} to name breakers differently.
 * @publicApi
 */
@Injectable()
export class CircuitBreakerInterceptor implements NestInterceptor {
  constructor(
    @Inject(BreakerRegistry) protected readonly registry: BreakerRegistry,
    @Inject(ResilienceErrorMapper) protected readonly errors: ResilienceErrorMapper,
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
    return observeThroughBreaker(this.registry.get(this.breakerName(context)), () => next.handle()).pipe(
      catchError((error: unknown) => {
        throw this.errors.map(context, error);
      }),
    );
  }

  /** The breaker a route runs through: `Controller.handler`. */
  protected breakerName(context: ExecutionContext): string {
    return `${context.getClass().name}.${context.getHandler().name}`;
  }
}
