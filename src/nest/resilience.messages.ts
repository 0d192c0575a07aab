import type { StateChangeEvent } from '../core/breaker-events';
import type { InvalidBreakerKeyError, InvalidRateLimitKeyError } from '../core/errors';
import { escapeUnprintable } from '../core/printable';
import type { ResilienceErrorDetails } from './error-mapping/error-answers';

export const NO_MODULE = (breaker: string): string =>
  `@CircuitBreaker("${breaker}") was called where no ResilienceModule is initialised; ` +
  'the call runs unprotected (this is logged once per breaker)';

export const MISSPELLED_BREAKER = (user: string, name: string, configured: string): string =>
  `${user} names circuit breaker "${name}", which is not configured (it gets the defaults); ` +
  `did you mean "${configured}"?`;

export const NO_HTTP_SERVICE =
  'http.axios is on, but the app has no HttpService of @nestjs/axios (HttpModule not imported, ' +
  'or @nestjs/axios not installed): no Axios instance is protected';

export const NOT_A_METHOD = (decorator: string, owner: string, key: string): string =>
  `${decorator} can only decorate a method${decorator === '@CircuitBreaker' ? ' or a class' : ''}; ${owner}.${key} is not a method`;

export const NO_MODULE_FOR_POLICY = (method: string): string =>
  `${method} has resilience policies but was called where no ResilienceModule is initialised; ` +
  'the call runs unprotected (this is logged once per method)';

export const UNKNOWN_POLICY = (method: string, known: string): string =>
  `the name of a policy in the module's policies option (used by @Resilient on ${method}; configured: ${known})`;

export const TWO_BREAKERS = (method: string, breaker: string): string =>
  `no breaker in the policy, since ${method} also has @CircuitBreaker("${breaker}"); keep one of them`;

export const DECORATOR_TWICE = (decorator: string, method: string): string =>
  `${decorator} is applied twice to ${method}; keep one`;

export const RESILIENT_WITH_POLICY = (method: string): string =>
  `${method} has @Resilient and @Retry, @Timeout, @Bulkhead or @RateLimit: put those options in the named policy instead`;

export const DEAD_LETTER_LOST = (policy: string, problem: unknown): string =>
  `A call of policy "${policy}" finally failed and could not be kept as a dead letter: ` +
  (problem instanceof Error ? problem.message : String(problem));

export const DEAD_LETTER_ONE_METHOD = (method: string, other: string): string =>
  `one method per policy that keeps dead letters (deadLetter: true), so that a replay knows what to call; ` +
  `${method} and ${other} both use it`;

export const DEAD_LETTER_SCOPED = (method: string): string =>
  `a singleton provider or controller for a policy that keeps dead letters (deadLetter: true): ` +
  `${method} is request- or transient-scoped, so a replay would have no instance to call`;

export const NO_POLICY_REGISTRY =
  'no PolicyRegistry is attached to this breaker registry: ResilienceModule was not initialised';

export const FALLBACK_EXPECTED = (owner: string): string => `the name of a method of ${owner}, or a function`;

export const UNDECLARED_OBSERVABLE = (breaker: string, method: string): string =>
  `${method} (breaker "${breaker}") returned an Observable, but its return type is not declared as Observable, ` +
  'so its last value is returned as a Promise. Declare `: Observable<T>` (with a value import of Observable) ' +
  'to keep it an Observable. This is logged once per method';

/** One line, whatever the reason and actor (from requests and operators) hold: nothing forges another. */
export const STATE_CHANGE = (e: StateChangeEvent): string =>
  `Circuit breaker "${escapeUnprintable(e.breaker)}" ${e.from} -> ${e.to} (${e.remote ? 'by the fleet: ' : ''}` +
  `${escapeUnprintable(e.reason)}${e.actor === null ? '' : ` by ${escapeUnprintable(e.actor)}`}` +
  // This instance's window did not decide a fleet's transition: its rate would mislead.
  `${e.remote ? '' : `, failure rate ${formatRate(e.failureRate)}`})`;

export const EVENT_DROPPED = (handler: string, details: ResilienceErrorDetails): string =>
  `${handler} did not handle an event: ${details.message} (${details.code}` +
  `${details.retryAfterMs === undefined ? '' : `, retry after ${details.retryAfterMs} ms`})`;

export const INVALID_MAP_ERRORS = (value: unknown): string =>
  `ResilienceModule: mapErrors = ${String(value)} is invalid; expected true (map resilience errors to 503/504/400 answers, ` +
  'the default) or false (leave them to your exception filters)';

export const SHUTDOWN_TIMED_OUT = ([breakers, policies, letters]: number[], ms: number): string =>
  `protected calls still running after shutdownTimeout (${ms} ms): ${breakers} in breakers, ` +
  `${policies} through policies, ${letters} dead letter(s) being written; shutting down anyway`;

export const PROM_CLIENT_MISSING =
  'prom-client is not installed, so circuit breaker metrics are off; ' +
  'install it to turn them on, or set the ResilienceModule option metrics: false to silence this line';

export const NO_REGISTRY_FOR_HEALTH =
  'BreakerHealthIndicator found no ResilienceModule in this app, so it reports no circuit breakers; ' +
  'import ResilienceModule.forRoot() or forRootAsync() once, in any module of the app, to report them';

export const BREAKERS_UNREADABLE = (error: unknown): string =>
  `could not read the circuit breakers: ${String(error)}`;

export const INVALID_RMQ_REJECTED = (value: unknown): string =>
  `ResilienceModule: rmqRejected = ${String(value)} is invalid; expected 'nack' or 'requeue' ` +
  '(what becomes of a RabbitMQ message consumed with noAck: false whose handler a breaker or a policy kept from running), or no setting';

export const IMPORTED_MORE_THAN_ONCE = (count: number, importers: string[]): string =>
  `ResilienceModule is imported ${count} times in this app` +
  (importers.length > 0 ? ` (by ${importers.join(', ')})` : '') +
  ': each import would have its own breakers, store, health and metrics, and every decorated ' +
  'method would run through the breakers of one of them only, whatever the options next to it. ' +
  'Import it once: ResilienceModule.forRoot() in the root module (it is global by default), or, ' +
  'with isGlobal: false, in one module of yours that lists ResilienceModule in its exports and ' +
  'that the modules using it import';

export const NEST_PEER_MISSING = (name: string): string => `nest-resilience needs ${name} here: install it`;

/** The first call a breaker or policy refused for an invalid key, logged at once. */
export const FIRST_INVALID_KEY = (error: InvalidBreakerKeyError | InvalidRateLimitKeyError): string =>
  `${error.message}. The call was refused (HTTP 400); further invalid keys of this ${refuserOf(error)} are ` +
  `logged at most once a minute, counted`;

/** The calls a breaker or policy refused for an invalid key since its last warning, `latest` the last. */
export const MORE_INVALID_KEYS = (
  latest: InvalidBreakerKeyError | InvalidRateLimitKeyError,
  more: number,
): string => {
  const refuser = refuserOf(latest);
  const calls = more === 1 ? `call of this ${refuser} was` : `calls of this ${refuser} were`;
  const key = latest.code === 'INVALID_RATE_LIMIT_KEY' ? 'rate-limit key' : 'key';
  return `${latest.message}. ${more} more ${calls} refused for an invalid ${key} since the last warning; this key was the latest`;
};

function refuserOf(error: InvalidBreakerKeyError | InvalidRateLimitKeyError): 'policy' | 'breaker' {
  return error.code === 'INVALID_RATE_LIMIT_KEY' ? 'policy' : 'breaker';
}

function formatRate(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}
