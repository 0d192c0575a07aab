import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Breaker } from '../core/breaker';
import { CircuitState } from '../core/circuit-state';
import { BreakerRegistry } from '../core/registry';
import { LOG_CONTEXT } from '../nest/resilience.constants';
import { BREAKERS_UNREADABLE, NO_REGISTRY_FOR_HEALTH } from '../nest/resilience.messages';

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
 * Details of the `circuit_breakers` health indicator: how many breakers are in each state
 * (the five counts add up to `total`), and each breaker by name.
 * @publicApi
 */
export type BreakersHealthDetails = {
  /** Every breaker, per-key ones (`name:key`) included. */
  total: number;
  closed: number;
  open: number;
  half_open: number;
  forced_open: number;
  disabled: number;
  breakers: Record<string, BreakerHealth>;
};

/** States of a critical breaker that fail the health check. */
const FAILING: ReadonlySet<CircuitState> = new Set([CircuitState.OPEN, CircuitState.FORCED_OPEN]);

/**
 * A Terminus health indicator reporting every circuit breaker. List it in the `providers`
 * of the module that imports `TerminusModule` (it needs Terminus's `HealthIndicatorService`),
 * and call it from a readiness check.
 *
 * The status is `up` when every breaker is closed; `down` (HTTP 503) when a breaker with
 * `critical: true` is OPEN or FORCED_OPEN; otherwise `degraded` (HTTP 200) as soon as any
 * breaker is not closed: open, half-open, forced open, or disabled (its calls then pass
 * unprotected, which an operator should see; a disabled critical breaker is degraded too).
 * Terminus 11 has no `degraded` status: there those cases report `up` (HTTP 200) with the same
 * details, whose counts (`closed` below `total`) still show which breakers are not closed.
 *
 * In an app (or a test module) without `ResilienceModule` it reports no breakers and logs one
 * warning, so adding it never breaks a module that builds the health check alone.
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
export class BreakerHealthIndicator {
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(HealthIndicatorService) private readonly healthIndicatorService: HealthIndicatorService,
    @Optional() @Inject(BreakerRegistry) private readonly registry?: BreakerRegistry,
  ) {
    if (registry === undefined) this.logger.warn(NO_REGISTRY_FOR_HEALTH);
  }

  /**
   * Reports every breaker as it is now. Never throws: Terminus 12 answers 500 to an
   * indicator that throws, so a failure to read the breakers is reported as `down`.
   * @param key The key of this indicator in the health check's JSON. @default 'circuit_breakers'
   */
  isHealthy<const Key extends string = 'circuit_breakers'>(
    key: Key = 'circuit_breakers' as Key,
  ): HealthIndicatorResult<Key> {
    const indicator = this.healthIndicatorService.check(key);
    let report: ReturnType<typeof readBreakers>;
    try {
      report = readBreakers(this.registry?.all() ?? []);
    } catch (error) {
      const message = BREAKERS_UNREADABLE(error);
      this.logger.error(message, error instanceof Error ? error.stack : undefined);
      return indicator.down({ message });
    }
    const { details, criticalFailing } = report;
    if (criticalFailing) return indicator.down(details);
    const allClosed = details.closed === details.total;
    return allClosed || !canReportDegraded(indicator) ? indicator.up(details) : indicator.degraded(details);
  }
}

/** Whether Terminus has a `degraded` status: 12 does; 11 has only `up` and `down`. */
function canReportDegraded(session: object): boolean {
  return typeof (session as { degraded?: unknown }).degraded === 'function';
}

/** Reads every breaker once: the snapshot applies a due OPEN -> HALF_OPEN first. */
function readBreakers(all: Breaker[]): { details: BreakersHealthDetails; criticalFailing: boolean } {
  const details: BreakersHealthDetails = {
    total: all.length,
    closed: 0,
    open: 0,
    half_open: 0,
    forced_open: 0,
    disabled: 0,
    breakers: {},
  };
  let criticalFailing = false;
  for (const breaker of all) {
    const { state, failureRate, nextAttemptAt, critical } = breaker.snapshot();
    details[state]++;
    details.breakers[breaker.name] = { state, failureRate, nextAttemptAt, critical };
    criticalFailing ||= critical && FAILING.has(state);
  }
  return { details, criticalFailing };
}
