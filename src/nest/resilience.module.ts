import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { DiscoveryModule, ModulesContainer } from '@nestjs/core';
import { EventLoopSampler } from '../core/event-loop-sampler';
import type { LoadSampler } from '../core/load-sampler';
import { BreakerRegistry } from '../core/registry';
import { originBreakersOf } from '../http/origin-breakers';
import { BreakerStore } from '../stores/breaker-store';
import { createBreakerStore } from '../stores/create-store';
import { BreakerMetrics } from './breaker.metrics';
import { BreakerStateLogger } from './breaker-state.logger';
import { CircuitBreakerExplorer } from './circuit-breaker.explorer';
import { DeadLetters } from './dead-letters/dead-letters.service';
import { checkImportedOnce } from './imported-once';
import { OutgoingHttpProtection } from './outgoing-http.protection';
import { PolicyMetrics } from './policy.metrics';
import { PolicyRegistry } from './policy-registry';
import {
  ConfigurableModuleClass,
  type ResilienceModuleAsyncOptions,
  type ResilienceModuleRootOptions,
} from './resilience.module-definition';
import type { ResilienceModuleOptions } from './resilience-options.interface';
import { checkModuleOptions } from './resilience-options.table';
import { LOAD_SAMPLER, LOG_CONTEXT, RESILIENCE_OPTIONS } from './resilience.constants';
import { ResilienceShutdown } from './resilience.shutdown';

/**
 * The first provider built from the options: it checks them, and that the app imports the module
 * once, before anything uses them or opens a file or a connection.
 */
function createStore(options: ResilienceModuleOptions, modules: ModulesContainer): BreakerStore {
  checkImportedOnce(modules, ResilienceModule);
  checkModuleOptions(options);
  return createBreakerStore(options.store, new Logger(LOG_CONTEXT));
}

/** Builds the registry (bad options fail the boot here) and hands it to the store to restore. */
async function createRegistry(
  options: ResilienceModuleOptions,
  store: BreakerStore,
  loadSampler: LoadSampler,
): Promise<BreakerRegistry> {
  try {
    const registry = new BreakerRegistry({
      defaults: options.defaults,
      breakers: options.breakers,
      maxKeysPerBreaker: options.maxKeysPerBreaker,
      maxBreakers: options.maxBreakers,
      auditLog: store.auditLog,
      loadSampler,
    });
    if (options.http !== undefined) originBreakersOf(registry, options.http);
    await store.attach(registry);
    return registry;
  } catch (error) {
    // The app never starts, so nothing else would release the store's file or connection.
    await store.close();
    throw error;
  }
}

/**
 * Circuit breakers for the app: `BreakerRegistry` (injectable), `@CircuitBreaker` on any
 * provider method or controller, the policies around it (`@Retry`, `@Timeout`, `@Bulkhead`,
 * `@RateLimit`, `@Resilient` and `PolicyRegistry`), `CircuitBreakerInterceptor`, the 503 mapping, state-change
 * logs, Prometheus metrics, and a shutdown that lets protected calls finish. Global by default.
 * An app imports it once: a second `forRoot()` / `forRootAsync()` fails the boot.
 * @example
 * ResilienceModule.forRoot({ breakers: { payments: { preset: 'http', critical: true } } })
 * @publicApi
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: BreakerStore, useFactory: createStore, inject: [RESILIENCE_OPTIONS, ModulesContainer] },
    { provide: LOAD_SAMPLER, useFactory: () => new EventLoopSampler() },
    {
      provide: BreakerRegistry,
      useFactory: createRegistry,
      inject: [RESILIENCE_OPTIONS, BreakerStore, LOAD_SAMPLER],
    },
    PolicyRegistry,
    CircuitBreakerExplorer,
    BreakerStateLogger,
    BreakerMetrics,
    PolicyMetrics,
    ResilienceShutdown,
    OutgoingHttpProtection,
    DeadLetters,
  ],
  // The store too, so that the health indicator can report it.
  exports: [BreakerRegistry, PolicyRegistry, BreakerStore, DeadLetters],
})
export class ResilienceModule extends ConfigurableModuleClass {
  /** Configures the module with options known up front. */
  static forRoot(options: ResilienceModuleRootOptions = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Configures the module with options from a `useFactory` (with `imports` and `inject`), a
   * `useClass` or a `useExisting` implementing `ResilienceOptionsFactory`.
   */
  static forRootAsync(options: ResilienceModuleAsyncOptions): DynamicModule {
    return super.forRootAsync(options);
  }
}
