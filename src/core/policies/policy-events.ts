import type { InvalidRateLimitKeyError } from '../errors';

/** What a retry did with a failed attempt: `retries_total{outcome}`. @publicApi */
export type RetryOutcome = 'retried' | 'exhausted' | 'budget_exhausted';

/** Why a policy refused or ended a call: `rejected_total{reason}`. @publicApi */
export type PolicyRejectionReason = 'bulkhead_full' | 'rate_limited' | 'timeout';

/**
 * `invalid_key`: a call refused because its rate-limit key is one no bucket can have (HTTP 400):
 * the caller's fault, so no `rejected_total` reason counts it; the module logs it instead.
 * @publicApi
 */
export type PolicyEvent =
  | { readonly kind: 'retry'; readonly policy: string; readonly outcome: RetryOutcome }
  | { readonly kind: 'rejected'; readonly policy: string; readonly reason: PolicyRejectionReason }
  | { readonly kind: 'invalid_key'; readonly policy: string; readonly error: InvalidRateLimitKeyError };

/** @publicApi */
export type PolicyListener = (event: PolicyEvent) => void;
