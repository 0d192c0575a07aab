import type { StateChangeEvent } from '../core/breaker-events';
import type { ResilienceErrorDetails } from './error-mapping/error-answers';

export const NO_MODULE = (breaker: string): string =>
  `@CircuitBreaker("${breaker}") was called where no ResilienceModule is initialised; ` +
  'the call runs unprotected (this is logged once per breaker)';

export const NOT_A_METHOD = (owner: string, key: string): string =>
  `@CircuitBreaker can only decorate a method or a class; ${owner}.${key} is not a method`;

export const FALLBACK_EXPECTED = (owner: string): string => `the name of a method of ${owner}, or a function`;

export const UNDECLARED_OBSERVABLE = (breaker: string, method: string): string =>
  `${method} (breaker "${breaker}") returned an Observable, but its return type is not declared as Observable, ` +
  'so its last value is returned as a Promise. Declare `: Observable<T>` (with a value import of Observable) ' +
  'to keep it an Observable. This is logged once per method';

export const STATE_CHANGE = (e: StateChangeEvent): string =>
  `Circuit breaker "${e.breaker}" ${e.from} -> ${e.to} (${e.reason}` +
  `${e.actor === null ? '' : ` by ${e.actor}`}, failure rate ${formatRate(e.failureRate)})`;

export const EVENT_DROPPED = (handler: string, details: ResilienceErrorDetails): string =>
  `${handler} did not handle an event: ${details.message} (${details.code}` +
  `${details.retryAfterMs === undefined ? '' : `, retry after ${details.retryAfterMs} ms`})`;

export const INVALID_MAP_ERRORS = (value: unknown): string =>
  `ResilienceModule: mapErrors = ${String(value)} is invalid; expected true (map resilience errors to 503/504/400 answers, ` +
  'the default) or false (leave them to your exception filters)';

export const SHUTDOWN_TIMED_OUT = (calls: number, ms: number): string =>
  `${calls} protected call(s) still running after shutdownTimeout (${ms} ms); shutting down anyway`;

export const PROM_CLIENT_MISSING =
  'prom-client is not installed, so circuit breaker metrics are off; ' +
  'install it to turn them on, or set the ResilienceModule option metrics: false to silence this line';

export const NO_REGISTRY_FOR_HEALTH =
  'BreakerHealthIndicator found no ResilienceModule in this app, so it reports no circuit breakers; ' +
  'import ResilienceModule.forRoot() (global by default) in the app module to report them';

export const BREAKERS_UNREADABLE = (error: unknown): string =>
  `could not read the circuit breakers: ${String(error)}`;

function formatRate(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}
