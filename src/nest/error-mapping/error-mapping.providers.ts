import type { Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import { INVALID_MAP_ERRORS } from '../resilience.messages';
import { ResilienceErrorMapper } from './resilience-error.mapper';
import { ResilienceErrorsInterceptor } from './resilience-errors.interceptor';

/**
 * The module's error mapping: the mapper (which `CircuitBreakerInterceptor` uses too) and,
 * unless `mapErrors` is `false`, the app-wide interceptor that applies it to every handler.
 * `undefined`, a setting a config object leaves unset (`{ mapErrors: config.mapErrors }`), is
 * the default, as the option's type (`mapErrors?: boolean`) promises.
 */
export function errorMappingProviders(mapErrors: unknown = true): Provider[] {
  if (typeof mapErrors !== 'boolean') throw new Error(INVALID_MAP_ERRORS(mapErrors));
  const mapper: Provider = {
    provide: ResilienceErrorMapper,
    useFactory: (adapterHost: HttpAdapterHost) => new ResilienceErrorMapper(adapterHost, mapErrors),
    inject: [HttpAdapterHost],
  };
  return mapErrors ? [mapper, { provide: APP_INTERCEPTOR, useClass: ResilienceErrorsInterceptor }] : [mapper];
}
