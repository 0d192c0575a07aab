import { toBreakerKey } from '../core/breaker-key';
import type { InvalidBreakerKeyError } from '../core/errors';
import type { BreakerRegistry } from '../core/registry';

/** Who hears the keys refused for each app's per-key breakers (its `BreakerMetrics`, which logs them). */
const listeners = new WeakMap<BreakerRegistry, (error: InvalidBreakerKeyError) => void>();

/**
 * The key a call gave (`@CircuitBreaker`'s `key`, `CircuitBreakerInterceptor.breakerKey`) as
 * the per-key breakers of `name` in `registry` take it. A key no breaker can have is told to
 * the app's listener first: it comes from a request, and the call never reaches a breaker that
 * could count it.
 * @throws {InvalidBreakerKeyError} when it is not a string, a number or a bigint, or is too long.
 */
export function breakerKeyFor(registry: BreakerRegistry, name: string, value: unknown): string {
  try {
    return toBreakerKey(name, value);
  } catch (error) {
    listeners.get(registry)?.(error as InvalidBreakerKeyError);
    throw error;
  }
}

/**
 * Has `listener` hear every key {@link breakerKeyFor} refuses for the breakers of `registry`
 * (one listener per registry: an app's); returns the function that stops it.
 */
export function hearRefusedBreakerKeys(
  registry: BreakerRegistry,
  listener: (error: InvalidBreakerKeyError) => void,
): () => void {
  listeners.set(registry, listener);
  return () => {
    if (listeners.get(registry) === listener) listeners.delete(registry);
  };
}
