import type { InvalidRateLimitKeyError } from '../core/errors';
import { systemTimers, type PolicyTimers } from '../core/policies/timers';

/** The least time between two warnings of one policy's refused keys, in ms. */
export const RATE_LIMIT_KEY_WARNING_INTERVAL_MS = 60_000;

export const FIRST_INVALID_RATE_LIMIT_KEY = (error: InvalidRateLimitKeyError): string =>
  `${error.message}. The call was refused (HTTP 400); further invalid keys of this policy are ` +
  `logged at most once a minute, counted`;

export const MORE_INVALID_RATE_LIMIT_KEYS = (latest: InvalidRateLimitKeyError, more: number): string =>
  `${latest.message}. ${more} more ${more === 1 ? 'call of this policy was' : 'calls of this policy were'} ` +
  `refused for an invalid rate-limit key since the last warning; this key was the latest`;

/** A policy's keys refused since its last warning, and the timer that writes the next. */
interface Refusals {
  count: number;
  latest: InvalidRateLimitKeyError;
  timer: unknown;
}

/**
 * Warns of calls refused because their rate-limit key is one no bucket can have (HTTP 400),
 * which no series counts (the reasons of `resilience_rejected_total` are fixed, and this is
 * the caller's fault, not a limit reached). Keys come from requests, so a flood of bad ones must
 * not flood the log: a policy's first refusal is written at once, the next ones summed up in
 * at most one line a minute (how many, and the latest), and those counted when the app closes
 * in a last line. One timer per policy refusing keys, unref'd; none once its refusals stop.
 */
export class RateLimitKeyWarnings {
  private readonly refusals = new Map<string, Refusals>();

  constructor(
    private readonly warn: (line: string) => void,
    private readonly timers: PolicyTimers = systemTimers,
  ) {}

  refused(error: InvalidRateLimitKeyError): void {
    const refusals = this.refusals.get(error.policy);
    if (refusals !== undefined) {
      refusals.count++;
      refusals.latest = error;
      return;
    }
    this.warn(FIRST_INVALID_RATE_LIMIT_KEY(error));
    this.refusals.set(error.policy, { count: 0, latest: error, timer: this.nextWarning(error.policy) });
  }

  /** Writes what is counted and not yet written; no timer is left. */
  close(): void {
    for (const refusals of this.refusals.values()) {
      this.timers.clearTimeout(refusals.timer);
      if (refusals.count > 0) this.warn(MORE_INVALID_RATE_LIMIT_KEYS(refusals.latest, refusals.count));
    }
    this.refusals.clear();
  }

  private nextWarning(policy: string): unknown {
    const timer = this.timers.setTimeout(() => this.sumUp(policy), RATE_LIMIT_KEY_WARNING_INTERVAL_MS);
    (timer as { unref?: () => void } | null)?.unref?.();
    return timer;
  }

  /** A minute after the last warning: the refusals since, if any; else the policy is quiet again. */
  private sumUp(policy: string): void {
    const refusals = this.refusals.get(policy);
    if (refusals === undefined) return;
    if (refusals.count === 0) {
      this.refusals.delete(policy);
      return;
    }
    this.warn(MORE_INVALID_RATE_LIMIT_KEYS(refusals.latest, refusals.count));
    refusals.count = 0;
    refusals.timer = this.nextWarning(policy);
  }
}
