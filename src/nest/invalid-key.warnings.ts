import type { InvalidBreakerKeyError, InvalidRateLimitKeyError } from '../core/errors';
import { systemTimers, type PolicyTimers } from '../core/policies/timers';
import { FIRST_INVALID_KEY, MORE_INVALID_KEYS } from './resilience.messages';

/** The least time between two warnings of the keys one breaker or policy refused, in ms. */
export const INVALID_KEY_WARNING_INTERVAL_MS = 60_000;

/** A key from a call that no per-key breaker, or no rate-limit bucket, can have (HTTP 400). */
export type RefusedKey = InvalidBreakerKeyError | InvalidRateLimitKeyError;

/** What refused a key: one warning stream each, a breaker and a policy of one name apart. */
function streamOf(error: RefusedKey): string {
  return error.code === 'INVALID_RATE_LIMIT_KEY'
    ? `policy\u0000${error.policy}`
    : `breaker\u0000${error.breaker}`;
}

/** The keys one breaker or policy refused since its last warning, and the timer that writes the next. */
interface Refusals {
  count: number;
  latest: RefusedKey;
  timer: unknown;
}

/**
 * Warns of calls refused because their key is one no per-key breaker or rate-limit bucket can
 * have (HTTP 400), which no series counts (the reasons of the rejection counters are fixed, and
 * this is the caller's fault, not a breaker or a limit saying no). The error names the breaker
 * or policy and describes the key safely (never a long key whole, nor a control character).
 * Keys come from requests, so a flood of bad ones must not flood the log: each breaker's or
 * policy's first refusal is written at once, the next ones summed up in at most one line a
 * minute (how many, and the latest), and those counted when the app closes in a last line. One
 * timer per breaker or policy refusing keys, unref'd; none once its refusals stop.
 */
export class InvalidKeyWarnings {
  private readonly refusals = new Map<string, Refusals>();

  constructor(
    private readonly warn: (line: string) => void,
    private readonly timers: PolicyTimers = systemTimers,
  ) {}

  refused(error: RefusedKey): void {
    const stream = streamOf(error);
    const refusals = this.refusals.get(stream);
    if (refusals !== undefined) {
      refusals.count++;
      refusals.latest = error;
      return;
    }
    this.warn(FIRST_INVALID_KEY(error));
    this.refusals.set(stream, { count: 0, latest: error, timer: this.nextWarning(stream) });
  }

  /** Writes what is counted and not yet written; no timer is left. */
  close(): void {
    for (const refusals of this.refusals.values()) {
      this.timers.clearTimeout(refusals.timer);
      if (refusals.count > 0) this.warn(MORE_INVALID_KEYS(refusals.latest, refusals.count));
    }
    this.refusals.clear();
  }

  private nextWarning(stream: string): unknown {
    const timer = this.timers.setTimeout(() => this.sumUp(stream), INVALID_KEY_WARNING_INTERVAL_MS);
    (timer as { unref?: () => void } | null)?.unref?.();
    return timer;
  }

  /** A minute after the last warning: the refusals since, if any; else the stream is quiet again. */
  private sumUp(stream: string): void {
    const refusals = this.refusals.get(stream);
    if (refusals === undefined) return;
    if (refusals.count === 0) {
      this.refusals.delete(stream);
      return;
    }
    this.warn(MORE_INVALID_KEYS(refusals.latest, refusals.count));
    refusals.count = 0;
    refusals.timer = this.nextWarning(stream);
  }
}
