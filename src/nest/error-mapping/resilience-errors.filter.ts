import { Catch } from '@nestjs/common';
import { answerFor } from './error-answers';
import { errorBrand, ResilienceErrorFilter } from './resilience-error.filter';

/**
 * Answers an HTTP request with every error the module maps, as `mapErrors` would: a breaker's
 * rejection or timeout, a rate limit (429), a full bulkhead, a total timeout, load shedding, a
 * per-key breaker's bad key (400), each with its `Retry-After`. For `mapErrors: false`, or
 * errors raised where interceptors do not run (guards, middleware):
 * `{ provide: APP_FILTER, useClass: ResilienceErrorsFilter }`.
 *
 * A WebSocket gateway's client, an RPC client and a GraphQL field get the answer `mapErrors`
 * would give them (unlike the mapping, it logs no line for a rejected `@EventPattern` event).
 * @publicApi
 */
@Catch(errorBrand((value) => answerFor(value) !== undefined))
export class ResilienceErrorsFilter extends ResilienceErrorFilter {}
