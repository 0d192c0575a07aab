import {
  ConfigurableModuleBuilder,
  type ConfigurableModuleAsyncOptions,
  type ConfigurableModuleCls,
  type ConfigurableModuleOptionsFactory,
} from '@nestjs/common';
import { createAdminController } from './admin/resilience-admin.controller';
import { errorMappingProviders } from './error-mapping/error-mapping.providers';
import { ResilienceErrorMapper } from './error-mapping/resilience-error.mapper';
import type { AdminOptions, ResilienceModuleOptions } from './resilience-options.interface';
import { RESILIENCE_OPTIONS } from './resilience.constants';

/**
 * Settings of `forRoot` / `forRootAsync` that shape the module itself rather than the
 * breakers; in `forRootAsync` they sit next to `useFactory`, not in what it returns.
 * @publicApi
 */
export interface ResilienceModuleExtras {
  /** Registers the module globally, so every module can inject `BreakerRegistry`. @default true */
  isGlobal?: boolean;
  /**
   * Opt-in admin routes. Static, because Nest mounts controllers before async options
   * resolve. Mounted by the admin wiring of the module definition.
   */
  admin?: AdminOptions;
  /**
   * Maps a resilience error that escapes any handler to its context's answer before any
   * exception filter sees it: on HTTP, `BreakerOpenError` becomes Nest's
   * `ServiceUnavailableException` (503, `Retry-After`) and `BreakerTimeoutError` its
   * `GatewayTimeoutException` (504), and `InvalidBreakerKeyError` (a key from the request
   * that a per-key breaker cannot have) its `BadRequestException` (400), with the bodies
   * `BreakerOpenResponseBody`, `BreakerTimeoutResponseBody` and
   * `InvalidBreakerKeyResponseBody`; the policies' `RateLimitedError` answers 429 with
   * `Retry-After`, `BulkheadFullError` 503 with `Retry-After` and `TimeoutExceededError` 504
   * (`PolicyErrorResponseBody`). `false` leaves every such error to the app's own filters,
   * `CircuitBreakerInterceptor`'s included. @default true
   */
  mapErrors?: boolean;
  /**
   * For RabbitMQ microservices consuming with `noAck: false` (manual acks): what becomes of a
   * message whose `@EventPattern` / `@MessagePattern` handler (taking the `RmqContext` with
   * `@Ctx()`) a breaker or a policy kept from running, so it never acked it. `'nack'`: rejected
   * without requeue (to the queue's dead-letter exchange, if any), as Nest rejects a message no
   * handler takes; `'requeue'`: an event goes back on the queue and is delivered again at once
   * (a request, whose client got the error, is not requeued). Unset, the message is left
   * unacknowledged, and with a `prefetchCount` the consumer receives nothing more. Only for
   * `noAck: false`: RabbitMQ closes the channel on a nack of a message it does not await an ack
   * for. @default undefined
   */
  rmqRejected?: 'nack' | 'requeue';
}

/**
 * What a `useClass` / `useExisting` class given to `forRootAsync` implements.
 * @publicApi
 */
export type ResilienceOptionsFactory = ConfigurableModuleOptionsFactory<
  ResilienceModuleOptions,
  'createResilienceOptions'
>;

/** The argument of `ResilienceModule.forRoot()`. @publicApi */
export type ResilienceModuleRootOptions = ResilienceModuleOptions & Partial<ResilienceModuleExtras>;

/** The argument of `ResilienceModule.forRootAsync()`. @publicApi */
export type ResilienceModuleAsyncOptions = ConfigurableModuleAsyncOptions<
  ResilienceModuleOptions,
  'createResilienceOptions'
> &
  Partial<ResilienceModuleExtras>;

// Typed by name, not inferred: the declaration of an inferred type imports Nest 12 (ESM-only) with
// an import attribute, which TypeScript before 5.3 cannot parse, even with skipLibCheck.
export const ConfigurableModuleClass: ConfigurableModuleCls<
  ResilienceModuleOptions,
  'forRoot',
  'createResilienceOptions',
  ResilienceModuleExtras
> = new ConfigurableModuleBuilder<ResilienceModuleOptions>({ optionsInjectionToken: RESILIENCE_OPTIONS })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createResilienceOptions')
  // `admin` is listed (undefined) so that forRoot strips it from the options value as well.
  .setExtras<ResilienceModuleExtras>(
    { isGlobal: true, admin: undefined, mapErrors: true, rmqRejected: undefined },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      providers: [
        ...(definition.providers ?? []),
        ...errorMappingProviders(extras.mapErrors, extras.rmqRejected),
      ],
      exports: [...(definition.exports ?? []), ResilienceErrorMapper],
      // Built here, at forRoot()/forRootAsync() time, so unprotected admin routes fail the definition.
      ...(extras.admin !== undefined && { controllers: [createAdminController(extras.admin)] }),
    }),
  )
  .build().ConfigurableModuleClass;
