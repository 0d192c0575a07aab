import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  mixin,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { catchError, defer, type Observable } from 'rxjs';
import type { Breaker } from '../core/breaker';
import type { BreakerKeyInput } from '../core/breaker-key';
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
 * counted twice. A rejected HTTP call answers 503 with `Retry-After`, one that outlasts the
 * breaker's `timeout` 504, and a key from {@link breakerKey} that the breaker refuses 400,
 * thrown as Nest's `HttpException`s (unless the module's
 * `mapErrors` is `false`): the app's own exception filters see them. It maps them itself, so
 * they answer the same wherever it sits among the app's global interceptors.
 * The response streams through (SSE included); the call's outcome is recorded when it ends.
 *
 * Subclass it and override {@link breakerName} to name breakers differently, and
 * {@link breakerKey} to give each route one breaker per host, tenant, … taken from the request.
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
    // Deferred, so a key the breaker refuses (InvalidBreakerKeyError) is mapped like any other error.
    return defer(() => observeThroughBreaker(this.breakerFor(context), () => next.handle())).pipe(
      catchError((error: unknown) => {
        throw this.errors.map(context, error);
      }),
    );
  }

  private breakerFor(context: ExecutionContext): Breaker {
    const name = this.breakerName(context);
    const key = this.breakerKey(context);
    return key === undefined
      ? this.registry.get(name)
      : this.registry.get(name, this.registry.keyFor(name, key));
  }

  /**
   * The breaker a route runs through: `Controller.handler`.
   *
   * Build names from code only (the class, the handler, its metadata), never from the request
   * (its URL, headers or user): named breakers are never evicted, so names from requests grow
   * the registry without bound until `maxBreakers` refuses new ones. Values from requests
   * belong in {@link breakerKey}.
   */
  protected breakerName(context: ExecutionContext): string {
    return `${context.getClass().name}.${context.getHandler().name}`;
  }

  /**
   * The key of the route's per-key breaker under {@link breakerName}, e.g. the tenant of the
   * request: undefined (the default) for one breaker per route. Per-key breakers are bounded by
   * `maxKeysPerBreaker`, so a key may come from the request. A key the breaker cannot have (not
   * a string or a number, or longer than `MAX_KEY_LENGTH`) fails the request with
   * `InvalidBreakerKeyError`, which answers 400, and is logged as a warning (throttled: at most
   * one line a minute per breaker).
   * @example
   * protected override breakerKey(context: ExecutionContext) {
   *   return context.switchToHttp().getRequest().headers['x-tenant'] ?? 'none';
   * }
   */
  protected breakerKey(_context: ExecutionContext): BreakerKeyInput | undefined {
    return undefined;
  }
}
