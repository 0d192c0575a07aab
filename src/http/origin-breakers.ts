import type { Breaker } from '../core/breaker';
import type { BreakerGroup } from '../core/breaker-group';
import type { BreakerOptions } from '../core/breaker-options';
import { InvalidBreakerOptionsError } from '../core/errors';
import type { BreakerRegistry } from '../core/registry';
import { resolveBreakerOptions } from '../core/resolve-options';
import { isTransientHttpFailure } from './http-failure';
import { RESILIENT_FETCH_OPTIONS } from './http-option-table';
import type { ResilientFetchOptions } from './http-options';
import {
  authorityPrefixOf,
  endsAuthority,
  isOriginBreakerName,
  ORIGIN_BREAKER_PREFIX,
  originOf,
} from './origin';

const CONFLICT_HINT =
  'a name outside http:<origin>, which outgoing HTTP protection creates on demand and evicts beyond ' +
  'http.maxOrigins: set an origin’s options in http.origins';

/**
 * The breakers of one registry's outgoing HTTP requests: one per origin, named
 * `http:<origin>`, in two groups of the registry. The origins of `origins` are the user's own:
 * their group never evicts. Every other origin's breaker is made on demand, in a group bounded
 * by what `maxOrigins` leaves beside them. Every protected client of the registry (the global
 * `fetch`, each `HttpService`, each `createResilientFetch()`) shares them.
 */
export class OriginBreakers {
  /** The other origins' breakers, least recently used evicted beyond their share of `maxOrigins`. */
  private readonly group: BreakerGroup;
  /** The breakers of the origins in `origins` (undefined when there are none): never evicted. */
  private readonly configured: BreakerGroup | undefined;
  /** The names of the configured origins' breakers, with their options. */
  private readonly own = new Map<string, BreakerOptions>();
  /** Most names `names` keeps before it is emptied: twice the origins kept. */
  private readonly maxNames: number;
  /**
   * Breaker names by the start of the URLs that asked for them (see `authorityPrefixOf`), so
   * that a request parses no URL; emptied when it outgrows twice the origins kept.
   */
  private readonly names = new Map<string, string>();
  /** The prefix and name the last string URL had: a request to the same origin skips the map. */
  private lastPrefix = '';
  private lastName: string | undefined;

  /**
   * `source` has been checked against its table (the module's, or `createResilientFetch()`'s):
   * `maxOrigins` holds the configured origins. The breaker of each origin in `source.origins` is
   * made at once.
   * @throws {InvalidBreakerOptionsError} when origin options do not fit together, or a breaker
   * named `http:<origin>` exists already.
   */
  constructor(
    registry: BreakerRegistry,
    /** As given: what a later `createResilientFetch()` with options is compared with. */
    readonly source: ResilientFetchOptions,
  ) {
    // Preset 'http' < module defaults (their preset aside) < http.defaults < the origin's own.
    const shared: BreakerOptions = { preset: 'http', ...source.defaults };
    const { own } = this;
    for (const [origin, options] of Object.entries(source.origins ?? {})) {
      own.set(ORIGIN_BREAKER_PREFIX + origin, { ...shared, ...options });
    }
    const max = source.maxOrigins ?? (RESILIENT_FETCH_OPTIONS.maxOrigins.default as number);
    this.maxNames = 2 * max;
    const base = { isFailure: isTransientHttpFailure };
    // A group that owns only the configured names, as many as it may keep: none is ever evicted.
    this.configured =
      own.size === 0
        ? undefined
        : registry.defineGroup({
            owns: (name) => own.has(name),
            max: own.size,
            base,
            optionsFor: (name) => own.get(name),
            conflictHint: CONFLICT_HINT,
          });
    this.group = registry.defineGroup({
      owns: (name) => !own.has(name) && isOriginBreakerName(name),
      max: max - own.size,
      base,
      optionsFor: () => shared,
      conflictHint: CONFLICT_HINT,
    });
    // Resolved now, so that options that do not fit together fail the boot, not a request.
    resolveBreakerOptions(undefined, shared, this.group.defaults);
    for (const [name, options] of own) resolveBreakerOptions(name, options, this.group.defaults);
    // Made now, as configured breakers are: listed, checked by /health and tripped before any request.
    for (const name of own.keys()) this.configured?.get(name);
  }

  /** The breaker of the origin `url` goes to, now its most recently used; undefined when none guards it. */
  forUrl(url: string | URL): Breaker | undefined {
    const name = typeof url === 'string' ? this.nameOf(url) : breakerNameOf(url);
    if (name === undefined) return undefined;
    const { configured } = this;
    return configured !== undefined && this.own.has(name) ? configured.get(name) : this.group.get(name);
  }

  private nameOf(url: string): string | undefined {
    const last = this.lastPrefix;
    if (last !== '' && url.startsWith(last) && endsAuthority(url, last.length)) return this.lastName;
    const prefix = authorityPrefixOf(url);
    if (prefix === undefined) return breakerNameOf(url);
    let name = this.names.get(prefix);
    if (name === undefined) {
      name = breakerNameOf(url);
      if (name === undefined) return undefined;
      if (this.names.size >= this.maxNames) this.names.clear();
      this.names.set(prefix, name);
    }
    this.lastPrefix = prefix;
    this.lastName = name;
    return name;
  }
}

function breakerNameOf(url: string | URL): string | undefined {
  const origin = originOf(url);
  return origin === undefined ? undefined : ORIGIN_BREAKER_PREFIX + origin;
}

const byRegistry = new WeakMap<BreakerRegistry, OriginBreakers>();

/**
 * The origin breakers of `registry`, made from `options` the first time. Later callers share
 * them: they pass no options, or the very same object.
 * @throws {InvalidBreakerOptionsError} when they exist already with other options.
 */
export function originBreakersOf(registry: BreakerRegistry, options?: ResilientFetchOptions): OriginBreakers {
  const existing = byRegistry.get(registry);
  if (existing === undefined) {
    const made = new OriginBreakers(registry, options ?? {});
    byRegistry.set(registry, made);
    return made;
  }
  if (options !== undefined && options !== existing.source) {
    throw new InvalidBreakerOptionsError(
      undefined,
      '(options)',
      options,
      'none: this registry’s origin breakers are configured already (by the module’s http option or an ' +
        'earlier createResilientFetch()) and every protected client shares them',
      'http',
    );
  }
  return existing;
}
