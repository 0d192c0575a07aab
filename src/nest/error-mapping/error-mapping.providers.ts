import type { Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import { BreakerRegistry } from '../../core/registry';
import { INVALID_MAP_ERRORS } from '../resilience.messages';
import { mapFieldResolverErrors } from './field-resolver-errors';
import { ResilienceErrorMapper } from './resilience-error.mapper';
import { ResilienceErrorsInterceptor } from './resilience-errors.interceptor';
import { checkRmqRejected, settleRejectedRmqMessages } from './rmq-rejected-messages';

/** The provider that gives the module's `rmqRejected` setting to its registry's protected handlers. */
const RMQ_REJECTED = Symbol('rmqRejected');
/** The provider that has the registry's protected `@ResolveField` methods map their errors. */
const FIELD_RESOLVERS = Symbol('fieldResolverErrors');

/**
 * The module's error mapping: the mapper (which `CircuitBreakerInterceptor` uses too) and,
 * unless `mapErrors` is `false`, the app-wide interceptor that applies it to every handler.
 * `undefined`, a setting a config object leaves unset (`{ mapErrors: config.mapErrors }`), is
 * the default, as the option's type (`mapErrors?: boolean`) promises. With `rmqRejected`, what
 * a RabbitMQ broker gets for a message whose handler was refused (the mapping or not).
 */
export function errorMappingProviders(mapErrors: unknown = true, rmqRejected?: unknown): Provider[] {
  if (typeof mapErrors !== 'boolean') throw new Error(INVALID_MAP_ERRORS(mapErrors));
  const setting = checkRmqRejected(rmqRejected);
  const rmq: Provider[] =
    setting === undefined
      ? []
      : [
          {
            provide: RMQ_REJECTED,
            useFactory: (registry: BreakerRegistry) => settleRejectedRmqMessages(registry, setting),
            inject: [BreakerRegistry],
          },
        ];
  const mapper: Provider = {
    provide: ResilienceErrorMapper,
    useFactory: (adapterHost: HttpAdapterHost) => new ResilienceErrorMapper(adapterHost, mapErrors),
    inject: [HttpAdapterHost],
  };
  // Field resolvers get no interceptor unless fieldResolverEnhancers lists them: their protection maps.
  const fieldResolvers: Provider = {
    provide: FIELD_RESOLVERS,
    useFactory: (registry: BreakerRegistry) => mapFieldResolverErrors(registry),
    inject: [BreakerRegistry],
  };
  return mapErrors
    ? [mapper, { provide: APP_INTERCEPTOR, useClass: ResilienceErrorsInterceptor }, fieldResolvers, ...rmq]
    : [mapper, ...rmq];
}
