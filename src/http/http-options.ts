import type { BreakerOptions } from '../core/breaker-options';

/**
 * The breakers of outgoing HTTP requests, one per origin: `createResilientFetch()`'s options,
 * and the module's `http` option without its switches.
 * @publicApi
 */
export interface ResilientFetchOptions {
  /**
   * Options of every origin's breaker. They merge as preset `'http'` < the module's `defaults`
   * (its own `preset` aside) < these < the origin's own.
   * @default { preset: 'http' }
   */
  defaults?: BreakerOptions;
  /**
   * Options of one origin's breaker, by origin as `URL.origin` writes it (`https://api.example.com`).
   * Each origin here has its breaker from start-up and keeps it (never evicted); any other gets
   * one with its first request.
   */
  origins?: Record<string, BreakerOptions>;
  /**
   * Most origin breakers kept, those of `origins` included (at least as many as `origins` has).
   * The other origins share what is left: beyond it the least recently used of them with no
   * request in flight is dropped, whatever its state.
   * @default 1000
   */
  maxOrigins?: number;
}

/**
 * The module's `http` option: the origin breakers, and which clients go through them.
 * @publicApi
 */
export interface OutgoingHttpOptions extends ResilientFetchOptions {
  /** Protects the global `fetch` while the app runs; `app.close()` puts the original back. @default false */
  fetch?: boolean;
  /** Protects the Axios instance of every `HttpService` of `@nestjs/axios`, each once. @default false */
  axios?: boolean;
}
