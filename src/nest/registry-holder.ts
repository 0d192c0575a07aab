import type { BreakerRegistry } from '../core/registry';

/**
 * How a method wrapped by `@CircuitBreaker` (at class definition, long before any app exists)
 * finds the registry of the app it runs in.
 *
 * - Instances the module can see at start-up (providers and controllers whose dependency
 *   tree is static, transient ones included) are bound to their app's registry one by one,
 *   so several apps in one process (parallel tests) never share breakers.
 * - Anything else (REQUEST-scoped instances, instances built by hand or by a lazily loaded
 *   module) uses the registry of the most recently initialised app still running. With two
 *   apps running at once, such instances of the older app use the newer app's breakers.
 */
const byInstance = new WeakMap<object, BreakerRegistry>();
const running: BreakerRegistry[] = [];

export function bindInstance(instance: object, registry: BreakerRegistry): void {
  byInstance.set(instance, registry);
}

/** Unbinds an instance unless another app has bound it since (a `useValue` shared by two apps). */
export function unbindInstance(instance: object, registry: BreakerRegistry): void {
  if (byInstance.get(instance) === registry) byInstance.delete(instance);
}

/** Marks an app's registry as running: the fallback for instances nobody bound. */
export function activateRegistry(registry: BreakerRegistry): void {
  running.push(registry);
}

export function deactivateRegistry(registry: BreakerRegistry): void {
  const index = running.lastIndexOf(registry);
  if (index !== -1) running.splice(index, 1);
}

/** The registry calls on `instance` go through; `undefined` when no app is running. */
export function registryFor(instance: unknown): BreakerRegistry | undefined {
  const bound = typeof instance === 'object' && instance !== null ? byInstance.get(instance) : undefined;
  return bound ?? running.at(-1);
}
