import type { BreakerRegistry } from '../core/registry';

/**
 * How a method wrapped by `@CircuitBreaker` (at class definition, long before any app exists)
 * finds the registry of the app it runs in.
 *
 * - Instances the module can see at start-up (providers and controllers whose dependency
 *   tree is static, transient ones included) are bound to their app's registry one by one,
 *   so several apps in one process (parallel tests) never share breakers. An app binds them
 *   when it initialises; until then (a call from the `onModuleInit` of a module Nest
 *   initialises before ResilienceModule, or a testing module compiled without `init()`) an
 *   unbound instance makes every app built but not initialised yet bind its own first.
 * - Anything else (REQUEST-scoped instances, instances built by hand or by a lazily loaded
 *   module) uses the registry of the most recently initialised app still running. With two
 *   apps running at once, such instances of the older app use the newer app's breakers.
 */
const byInstance = new WeakMap<object, BreakerRegistry>();
const running: BreakerRegistry[] = [];

/**
 * An app built (its instances exist) whose module has not bound them yet, or another part of it
 * that must act before such a call (its metrics start publishing).
 */
export interface PendingBinding {
  /** Binds the app's instances now (is ready for a call on one of them). */
  bindInstances(): void;
}

/** Held weakly: an app compiled and then dropped without `close()` is not kept alive here. */
const pending = new Set<WeakRef<PendingBinding>>();

export function bindInstance(instance: object, registry: BreakerRegistry): void {
  byInstance.set(instance, registry);
}

/** Unbinds an instance unless another app has bound it since (a `useValue` shared by two apps). */
export function unbindInstance(instance: object, registry: BreakerRegistry): void {
  if (byInstance.get(instance) === registry) byInstance.delete(instance);
}

/**
 * Registers an app whose instances may be called before it binds them; returns the function
 * that ends this (once the app has bound them, or closes).
 */
export function awaitBinding(app: PendingBinding): () => void {
  const ref = new WeakRef(app);
  pending.add(ref);
  return () => pending.delete(ref);
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
  if (typeof instance !== 'object' || instance === null) return running.at(-1);
  const bound = byInstance.get(instance);
  if (bound !== undefined) return bound;
  if (pending.size === 0) return running.at(-1);
  bindPending();
  return byInstance.get(instance) ?? running.at(-1);
}

function bindPending(): void {
  for (const ref of [...pending]) {
    const app = ref.deref();
    if (app === undefined) pending.delete(ref);
    else app.bindInstances();
  }
}
