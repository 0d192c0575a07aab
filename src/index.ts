// Core: the framework-free engine (also `nest-resilience/core`, which loads no Nest code).
export * from './core/index';

// Stores.
export { BreakerStore, type FleetView, type StoreStats } from './stores/breaker-store';
export type { StoreOptions } from './stores/store-options';
export type { StoreLogger } from './stores/store-logger';
export type { StoreStatus } from './stores/store-status';
export type { SqliteDriverName, SqliteDriverOption } from './stores/sqlite-drivers/sqlite-driver';
export { createBreakerStore } from './stores/create-store';
export { MemoryStore } from './stores/memory.store';
export { SqliteStore, type SqliteStoreOptions } from './stores/sqlite.store';
export { RedisStore, type RedisStoreOptions } from './stores/redis/redis.store';
export type { RedisClient, NodeRedisClientLike, IoRedisClientLike } from './stores/redis/redis-client';

// Nest integration.
export { ResilienceModule } from './nest/resilience.module';
export type {
  ResilienceModuleExtras,
  ResilienceOptionsFactory,
  ResilienceModuleRootOptions,
  ResilienceModuleAsyncOptions,
} from './nest/resilience.module-definition';
export type { RmqRejectedMessages } from './nest/error-mapping/rmq-rejected-messages';
export type {
  ResilienceModuleOptions,
  MetricsOptions,
  MetricsRegistry,
  AdminOptions,
} from './nest/resilience-options.interface';
export { LOAD_SAMPLER, RESILIENCE_OPTIONS } from './nest/resilience.constants';
export { CircuitBreaker, type CircuitBreakerOptions } from './nest/circuit-breaker.decorator';
export { DeadLetters, type Replayer, type ReplayOutcome } from './nest/dead-letters/dead-letters.service';
export {
  DeadLetterArgumentsError,
  DeadLetterNotFoundError,
  NoReplayerError,
  ReplayedNotRemovedError,
  ReplayInProgressError,
} from './nest/dead-letters/dead-letter-errors';
export { CircuitBreakerInterceptor } from './nest/circuit-breaker.interceptor';
export type {
  BreakerOpenResponseBody,
  BreakerTimeoutResponseBody,
  InvalidBreakerKeyResponseBody,
  InvalidRateLimitKeyResponseBody,
  LoadShedResponseBody,
  PolicyErrorResponseBody,
  ResilienceErrorDetails,
} from './nest/error-mapping/error-answers';
export { BreakerOpenFilter } from './nest/error-mapping/breaker-open.filter';
export { BreakerTimeoutFilter } from './nest/error-mapping/breaker-timeout.filter';
export { ResilienceErrorsFilter } from './nest/error-mapping/resilience-errors.filter';
export { getBreakerSignal, getCallSignal } from './nest/breaker-call';
export { Retry, Timeout, Bulkhead, RateLimit, Resilient } from './nest/policy.decorators';
export type { ResilientOptions } from './nest/method-protection';
export { PolicyRegistry, type FinalFailureListener } from './nest/policy-registry';
export { createAdminController } from './nest/admin/resilience-admin.controller';
export type { ReplaySucceededBody } from './nest/admin/dead-letter-answers';
export {
  BREAKER_METRICS,
  CALL_DURATION_BUCKETS,
  type CallOutcome,
  type BreakerMetricDefinition,
} from './nest/metric-names';

// Outgoing HTTP: one breaker per origin.
export { createResilientFetch } from './http/resilient-fetch';
export { FailedResponseError } from './http/http-failure';
export type { OutgoingHttpOptions, ResilientFetchOptions } from './http/http-options';
