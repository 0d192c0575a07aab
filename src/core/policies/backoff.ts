import type { RandomSource } from './timers';

export interface BackoffOptions {
  readonly delay: number;
  readonly maxDelay: number;
  readonly backoff: 'exponential' | 'constant';
  readonly jitter: 'full' | 'none';
}

/**
 * The wait before retry number `retry` (0 for the first), without jitter: `delay`, then
 * `2×delay`, `4×delay`… for exponential backoff, each capped at `maxDelay`.
 */
export function baseDelay(options: BackoffOptions, retry: number): number {
  const { delay, maxDelay } = options;
  if (options.backoff === 'constant') return Math.min(delay, maxDelay);
  // Past 2^40 the cap has long applied; stopping there keeps the product finite.
  return Math.min(delay * 2 ** Math.min(retry, 40), maxDelay);
}

/** The wait before retry number `retry`: with full jitter, random in [0, base delay]. */
export function backoffDelay(options: BackoffOptions, retry: number, random: RandomSource): number {
  const base = baseDelay(options, retry);
  return options.jitter === 'full' ? random() * base : base;
}

/** The sum of every wait a retry may make, without jitter: what a total timeout must leave room for. */
export function totalBackoff(options: BackoffOptions, attempts: number): number {
  let sum = 0;
  for (let retry = 0; retry < attempts; retry++) sum += baseDelay(options, retry);
  return sum;
}
