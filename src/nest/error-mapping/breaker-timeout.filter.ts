import { Catch } from '@nestjs/common';
import { isBreakerTimeoutError } from '../../core/errors';
import { errorBrand, ResilienceErrorFilter } from './resilience-error.filter';

/**
 * Answers an HTTP request whose call outlasted its breaker's `timeout` (a
 * `BreakerTimeoutError`) with 504 and a `BreakerTimeoutResponseBody`. `ResilienceModule`
 * already maps these errors app-wide (see its `mapErrors` setting), so an app needs this
 * filter only where interceptors do not run (an error raised in a guard or middleware), or
 * with `mapErrors: false`: `{ provide: APP_FILTER, useClass: BreakerTimeoutFilter }`.
 *
 * A WebSocket gateway's client, an RPC client and a GraphQL field get the answer `mapErrors`
 * would give them (unlike the mapping, it logs no line for a rejected `@EventPattern` event).
 * @publicApi
 */
@Catch(errorBrand(isBreakerTimeoutError))
export class BreakerTimeoutFilter extends ResilienceErrorFilter {}
