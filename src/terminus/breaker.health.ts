import { Inject, Injectable, Logger, type OnModuleInit, Optional, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Breaker } from '../core/breaker';
import { CircuitState } from '../core/circuit-state';
import type { Policies } from '../core/policies/policies';
import { BreakerRegistry } from '../core/registry';
import { PolicyRegistry } from '../nest/policy-registry';
import { LOG_CONTEXT } from '../nest/resilience.constants';
import { BREAKERS_UNREADABLE, NO_REGISTRY_FOR_HEALTH } from '../nest/resilience.messages';
import { BreakerStore } from '../stores/breaker-store';
import type { StoreStatus } from '../stores/store-status';

/**
 * One breaker as the health check reports it.
 * @publicApi
 */
export type BreakerHealth = {
  /** The state as of now (an OPEN breaker whose open period has passed reads `half_open`). */
  state: CircuitState;
  /** Weighted failures / calls in the breaker's window, 0..1. */
  failureRate: number;
  /** Epoch ms the next trial call is admitted, while OPEN with `autoRecover`; else null. */
  nextAttemptAt: number | null;
  /** Whether an OPEN or FORCED_OPEN state of this breaker makes the check `down`. */
  critical: boolean;
};

/**
 * How many breakers are in each state; the five counts add up to `total`.
 * @publicApi
 */
export type BreakerStateCounts = {
  total: number;
  closed: number;
  open: number;
  half_open: number;
  forced_open: number;
  disabled: number;
};

/**
 * Details of the `circuit_breakers` health indicator: how many breakers are in each state
 * (per-key ones included), each named breaker by name, and the per-key breakers counted by
 * state under the name they are kept under: the size of a probe's answer does not grow with
 * the keys requests bring (with `perKey: true`, each per-key breaker is listed in `breakers`
 * too, by its full name `name#key`).
 * @publicApi
 */
export type BreakersHealthDetails = BreakerStateCounts & {
  breakers: Record<string, BreakerHealth>;
  keys: Record<string, BreakerStateCounts>;
  /** Where the state lives, its driver, and whether its writes work (absent without the module's store). */
  store?: StoreStatus;
  /** Each policy with a bulkhead or a rate limit, by name (`Class.method` for a decorator's). */
  policies?: Record<string, PolicyHealth>;
};

/**
 * The pressure on one policy. A full bulkhead or a rate limit refusing most calls makes the
 * check `degraded`, never `down`: the instance still serves what it admits.
 * @publicApi
 */
export type PolicyHealth = {
  bulkhead?: { active: number; queued: number; maxConcurrent: number; maxQueue: number; full: boolean };
  /** `refusedShare`: calls refused over the last 10 s, 0..1; `refusingMost` above one half. */
  rateLimit?: { refusedShare: number; refusingMost: boolean };
};

/** Options of {@link BreakerHealthIndicator.isHealthy}. @publicApi */
export type BreakerHealthOptions = {
  /** List each per-key breaker in `breakers` too. @default false */
  perKey?: boolean;
};

/** States of a critical breaker that fail the health check. */
const FAILING: ReadonlySet<CircuitState> = new Set([CircuitState.OPEN, CircuitState.FORCED_OPEN]);

/**
 * A Terminus health indicator reporting every circuit breaker. List it in the `providers`
 * of the module that imports `TerminusModule` (it needs Terminus's `HealthIndicatorService`),
 * and call it from a readiness check.
 *
 * The status is `up` when every breaker is closed; `down` (HTTP 503) when a named breaker with
 * `critical: true` is OPEN or FORCED_OPEN; otherwise `degraded` (HTTP 200) as soon as any
 * breaker is not closed: open, half-open, forced open, or disabled (its calls then pass
 * unprotected, which an operator should see; a disabled critical breaker is degraded too).
 * A per-key breaker is never what makes it `down`: keys come from requests, and one host or
 * tenant failing must not take the instance out of the load balancer. A policy's full
 * bulkhead, or its rate limit refusing most calls (over half of them in the last 10 s), makes
 * it `degraded` too, never `down`; `policies` details each policy with either.
 * Terminus 11 has no `degraded` status: there those cases report `up` (HTTP 200) with the same
 * details, whose counts (`closed` below `total`) still show which breakers are not closed.
 *
 * It reports the app's `ResilienceModule` wherever it is imported: one with `isGlobal: false`
 * in a feature module the health module cannot see is found in the app all the same. In an app
 * (or a test module) without `ResilienceModule` it reports no breakers and logs one warning, so
 * adding it never breaks a module that builds the health check alone.
 * @example
 * ```ts
 * @Get('ready')
 * @HealthCheck()
 * ready() {
 *   return this.health.check([() => this.breakers.isHealthy()]);
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class BreakerHealthIndicator implements OnModuleInit {
  private readonly logger = new Logger(LOG_CONTEXT);
  /** What it reports: the module's providers, as injected or as found in the app. */
  private sources?: Sources;

  constructor(
    @Inject(HealthIndicatorService) private readonly healthIndicatorService: HealthIndicatorService,
    @Optional() @Inject(BreakerRegistry) private readonly registry?: BreakerRegistry,
    @Optional() @Inject(BreakerStore) private readonly store?: BreakerStore,
    @Optional() @Inject(PolicyRegistry) private readonly policies?: PolicyRegistry,
    @Optional() @Inject(ModuleRef) private readonly moduleRef?: ModuleRef,
  ) {}

  /** Looks for the app's ResilienceModule once every provider of the app exists. */
  onModuleInit(): void {
    this.resolve();
  }

  /**
   * The providers it reports. Those its module cannot inject (a `ResilienceModule` with
   * `isGlobal: false` imported by another feature module) are looked up in the whole app: the
   * app imports the module once at most, so what is found is the app's.
   */
  private resolve(): Sources {
    if (this.sources !== undefined) return this.sources;
    if (this.registry !== undefined) {
      return (this.sources = { registry: this.registry, store: this.store, policies: this.policies });
    }
    const registry = this.find(BreakerRegistry);
    if (registry === undefined) this.logger.warn(NO_REGISTRY_FOR_HEALTH);
    return (this.sources = {
      registry,
      store: registry && (this.store ?? this.find(BreakerStore)),
      policies: registry && (this.policies ?? this.find(PolicyRegistry)),
    });
  }

  /** The app's provider of `token`, wherever it is; undefined when the app has none. */
  private find<T>(token: Type<T> | symbol): T | undefined {
    try {
      return this.moduleRef?.get<T>(token, { strict: false });
    } catch {
      return undefined;
    }
  }

  /**
   * Reports every breaker as it is now. Never throws: Terminus 12 answers 500 to an
   * indicator that throws, so a failure to read the breakers is reported as `down`.
   * @param key The key of this indicator in the health check's JSON. @default 'circuit_breakers'
   */
  isHealthy<const Key extends string = 'circuit_breakers'>(
    key: Key = 'circuit_breakers' as Key,
    { perKey = false }: BreakerHealthOptions = {},
  ): HealthIndicatorResult<Key> {
    const indicator = this.healthIndicatorService.check(key);
    let report: ReturnType<typeof readBreakers>;
    try {
      const { registry, store, policies } = this.resolve();
      report = readBreakers(registry?.all() ?? [], perKey);
      if (store) report.details.store = store.status();
      const pressure = readPolicies(policies?.all() ?? []);
      if (pressure !== undefined) {
        report.details.policies = pressure.policies;
        report.underPressure = pressure.underPressure;
      }
    } catch (error) {
      const message = BREAKERS_UNREADABLE(error);
      this.logger.error(message, error instanceof Error ? error.stack : undefined);
      return indicator.down({ message });
    }
    const { details, criticalFailing, underPressure } = report;
    if (criticalFailing) return indicator.down(details);
    // A store that is down never takes the instance out: breakers keep deciding from memory.
    const allWell = details.closed === details.total && details.store?.status !== 'down' && !underPressure;
    return allWell || !canReportDegraded(indicator) ? indicator.up(details) : indicator.degraded(details);
  }
}

/** The providers of `ResilienceModule` the indicator reports. */
interface Sources {
  registry?: BreakerRegistry;
  store?: BreakerStore;
  policies?: PolicyRegistry;
}

/** Whether Terminus has a `degraded` status: 12 does; 11 has only `up` and `down`. */
function canReportDegraded(session: object): boolean {
  return typeof (session as { degraded?: unknown }).degraded === 'function';
}

/** Reads every breaker once: the snapshot applies a due OPEN -> HALF_OPEN first. */
function readBreakers(
  all: Breaker[],
  perKey: boolean,
): { details: BreakersHealthDetails; criticalFailing: boolean; underPressure?: boolean } {
  // Without a prototype: a breaker named like an Object.prototype member is an entry like any other.
  const details: BreakersHealthDetails = {
    ...noBreakers(),
    breakers: Object.create(null) as Record<string, BreakerHealth>,
    keys: Object.create(null) as Record<string, BreakerStateCounts>,
  };
  let criticalFailing = false;
  for (const breaker of all) {
    const { state, failureRate, nextAttemptAt, critical } = breaker.snapshot();
    details.total++;
    details[state]++;
    const keyed = breaker.perKey;
    if (keyed !== undefined) {
      const counts = (details.keys[keyed.name] ??= noBreakers());
      counts.total++;
      counts[state]++;
    } else {
      criticalFailing ||= critical && FAILING.has(state);
    }
    if (keyed === undefined || perKey)
      details.breakers[breaker.name] = { state, failureRate, nextAttemptAt, critical };
  }
  return { details, criticalFailing };
}

/** Share of refused calls above which a rate limit is reported as refusing most calls. */
const REFUSING_MOST = 0.5;

/** The pressure on each policy with a bulkhead or a rate limit; undefined when there is none. */
function readPolicies(
  all: readonly Policies[],
): { policies: Record<string, PolicyHealth>; underPressure: boolean } | undefined {
  const policies = Object.create(null) as Record<string, PolicyHealth>;
  let underPressure = false;
  let any = false;
  for (const { name, bulkhead, rateLimiter } of all) {
    if (bulkhead === undefined && rateLimiter === undefined) continue;
    any = true;
    const health: PolicyHealth = {};
    if (bulkhead !== undefined) {
      const { maxConcurrent, maxQueue } = bulkhead.options;
      const full = bulkhead.active >= maxConcurrent && bulkhead.queued >= maxQueue;
      health.bulkhead = { active: bulkhead.active, queued: bulkhead.queued, maxConcurrent, maxQueue, full };
      underPressure ||= full;
    }
    if (rateLimiter !== undefined) {
      const refusedShare = rateLimiter.refusedShare();
      health.rateLimit = { refusedShare, refusingMost: refusedShare > REFUSING_MOST };
      underPressure ||= refusedShare > REFUSING_MOST;
    }
    policies[name] = health;
  }
  return any ? { policies, underPressure } : undefined;
}

function noBreakers(): BreakerStateCounts {
  return { total: 0, closed: 0, open: 0, half_open: 0, forced_open: 0, disabled: 0 };
}
