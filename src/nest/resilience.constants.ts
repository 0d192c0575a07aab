/**
 * Injection token of the resolved `ResilienceModuleOptions` (`forRoot` value or `forRootAsync` factory result).
 * @publicApi
 */
export const RESILIENCE_OPTIONS = Symbol('RESILIENCE_OPTIONS');

/**
 * Injection token of the `LoadSampler` every breaker of the app with `loadShed` reads: an
 * `EventLoopSampler` (one timer per app, started by the first read, stopped when the app
 * closes). Tests replace it with `overrideProvider(LOAD_SAMPLER)`.
 * @publicApi
 */
export const LOAD_SAMPLER = Symbol('LOAD_SAMPLER');

/** Metadata key `@CircuitBreaker` records on the methods it wraps. */
export const CIRCUIT_BREAKER_METADATA = 'nest-resilience:circuit-breaker';

/** Metadata key of the protection (breaker, policies) every decorator of this library records on the method it wrapped. */
export const PROTECTION_METADATA = 'nest-resilience:protection';

/** Metadata key on a controller `CircuitBreakerInterceptor` must never protect (the admin API: a breaker on `reset` could lock out recovery). */
export const SKIP_BREAKER_METADATA = 'nest-resilience:skip-breaker';

/** Logger context of every line the Nest layer writes. */
export const LOG_CONTEXT = 'CircuitBreaker';

/** How long shutdown waits for in-flight protected calls by default, in ms. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 10_000;

/** How often shutdown looks at in-flight calls again, in ms. */
export const SHUTDOWN_POLL_INTERVAL = 20;
