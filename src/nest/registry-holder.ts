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
  /**
   * Binds the app's instances now (is ready for a call on one of them). Once that is done for
   * good (every static instance existed and is bound, or what had to start started), it ends its
   * wait: else every call on an instance no app binds (REQUEST-scoped, built by hand) would have
   * it do the work again for as long as the app stays compiled but not initialised.
   */
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

/**
 * Something of an app that must be running before the app's first call, made before
 * `onModuleInit` perhaps (its metrics publishing, so that what a warm-up call in a deeper
 * module's `onModuleInit` does is counted). It starts once: before the first call made while
 * the app is built but not initialised, or in `onModuleInit`. Not at construction: a testing
 * module compiled to get a provider, then neither initialised nor closed (a common unit test),
 * would leave behind what it started (series in the registry the next app of the process
 * shares). A failure to start early does not fail the call: `init()` throws it, failing the
 * boot as a failure there would.
 *
 * Its owner keeps it (it is held weakly here), calls `init()` from its `onModuleInit` and
 * `stop()` from its `onModuleDestroy`.
 */
export class EarlyStart implements PendingBinding {
  private started = false;
  /** Why the start failed before `init()`, which throws it. */
  private failed?: { error: unknown };
  private readonly stopWaiting: () => void;

  constructor(private readonly start: () => void) {
    this.stopWaiting = awaitBinding(this);
  }

  /** Told before a call made while the app is built but not initialised. */
  bindInstances(): void {
    try {
      this.startOnce();
    } catch (error) {
      this.failed = { error };
    }
    // Started (or failed, which `init()` throws): no later call needs to be told.
    this.stopWaiting();
  }

  /** From `onModuleInit`: starts now unless started already; throws a failure to start early. */
  init(): void {
    this.stopWaiting();
    if (this.failed !== undefined) throw this.failed.error;
    this.startOnce();
  }

  /** From `onModuleDestroy`: no later call starts it (the owner undoes a start). */
  stop(): void {
    this.stopWaiting();
  }

  private startOnce(): void {
    if (this.started) return;
    this.started = true;
    this.start();
  }
}
