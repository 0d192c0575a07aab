import { Catch } from '@nestjs/common';
import { isBreakerOpenError } from '../../core/errors';
import { errorBrand, ResilienceErrorFilter } from './resilience-error.filter';

/**
 * Answers an HTTP request whose breaker rejected the call with 503, a `Retry-After` header and
 * a `BreakerOpenResponseBody`. `ResilienceModule` already maps these errors app-wide (see its
 * `mapErrors` setting), so an app needs this filter only where interceptors do not run (an
 * error raised in a guard or middleware), or with `mapErrors: false` to get the 503 back in
 * one place: `{ provide: APP_FILTER, useClass: BreakerOpenFilter }`.
 *
 * A WebSocket gateway's client, an RPC client and a GraphQL field get the answer `mapErrors`
 * would give them (unlike the mapping, it logs no line for a rejected `@EventPattern` event).
 * @publicApi
 */
@Catch(errorBrand(isBreakerOpenError))
export class BreakerOpenFilter extends ResilienceErrorFilter {}
