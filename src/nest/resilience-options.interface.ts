import type { CanActivate, Type } from '@nestjs/common';
import type { BreakerOptions } from '../core/breaker-options';
import type { PolicyOptions } from '../core/policies/policy-options';
import type { OutgoingHttpOptions } from '../http/http-options';
import type { BreakerStore } from '../stores/breaker-store';
import type { StoreOptions } from '../stores/store-options';

/**
 * A prom-client `Registry` (`new Registry()`, or prom-client's `register`), typed by what this
 * module calls on it: apps without prom-client type-check with `skipLibCheck` off.
 * @publicApi
 */
export interface MetricsRegistry {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/**
 * Prometheus settings. Metrics switch on by themselves when `prom-client` is installed.
 * @publicApi
 */
export interface MetricsOptions {
  /** Registry the series go to. @default prom-client's global `register` */
  registry?: MetricsRegistry;
  /** Prepended to every metric name, e.g. `myapp_`. @default '' */
  prefix?: string;
  /**
   * Gives every per-key breaker its own series too, labelled with its full name
   * (`hosts#internal`). Off, per-key breakers are only summed up under their name
   * (`circuit_breaker_keys` and the `circuit_breaker_keyed_*` series), so the size of a
   * scrape does not grow with the keys requests bring. Turn it on only when keys come from a
   * small set you control: each per-key breaker then adds 14 series, and up to about 100 with
   * traffic (17 histogram series per call outcome seen, one per transition seen).
   * @default false
   */
  perKey?: boolean;
}

/**
 * Opt-in admin routes. They are static module settings (given next to `useFactory` in
 * `forRootAsync`), because Nest mounts controllers before async options resolve.
 * @publicApi
 */
export interface AdminOptions {
  /** Route prefix. @default '/resilience' */
  path?: string;
  /** Guard protecting every admin route; the actor recorded is `request.user` as its guard set it. */
  guard?: Type<CanActivate>;
  /**
   * A bearer token the routes require (checked in constant time); given with `guard`, both must
   * pass. A function is called once when the app starts (so a token that `ConfigModule` loads
   * from `.env` is there whatever the order of `imports`). A `token` key whose value is empty or
   * unset locks the routes: 401 on every request, and one warning at boot.
   */
  token?: string | (() => string | undefined);
  /** Mount the routes with neither guard nor token. Never do this outside a sandbox. @default false */
  insecure?: boolean;
}

/**
 * Options of `ResilienceModule.forRoot()`.
 * @publicApi
 */
export interface ResilienceModuleOptions {
  /** Applied to every breaker, above its preset and below its own options. */
  defaults?: BreakerOptions;
  /** Named breakers, created at start-up. */
  breakers?: Record<string, BreakerOptions>;
  /**
   * Named policies (retry, total timeout, bulkhead, rate limit around a breaker), applied with
   * `@Resilient(name)` and built at start-up. Never created from `defaults`.
   */
  policies?: Record<string, PolicyOptions>;
  /** Where breaker state lives: a built-in store's options, or an object implementing `BreakerStore`. @default { type: 'memory' } */
  store?: StoreOptions | BreakerStore;
  /** Prometheus metrics; `false` turns them off. */
  metrics?: MetricsOptions | false;
  /**
   * Most per-key breakers kept under one name (`@CircuitBreaker(name, { key })`); beyond it
   * the least recently used idle one (a closed one first) is evicted. @default 1000
   */
  maxKeysPerBreaker?: number;
  /**
   * Most named breakers, configured ones included. Named breakers are never evicted, so a new
   * name beyond it fails the call with `TooManyBreakersError`: breaker names must come from
   * code or configuration, never from request input (use a key for that). @default 10000
   */
  maxBreakers?: number;
  /** How long shutdown waits for in-flight protected calls. @default 10_000 */
  shutdownTimeout?: number;
  /**
   * Outgoing HTTP without code per call: one breaker per origin (`http:<origin>`) for the
   * global `fetch` (`fetch: true`), every `HttpService` of `@nestjs/axios` (`axios: true`) and
   * `createResilientFetch(registry)`. @default off
   */
  http?: OutgoingHttpOptions;
}
