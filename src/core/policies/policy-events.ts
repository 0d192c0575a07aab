/** What a retry did with a failed attempt: `retries_total{outcome}`. @publicApi */
export type RetryOutcome = 'retried' | 'exhausted' | 'budget_exhausted';

/** Why a policy refused or ended a call: `rejected_total{reason}`. @publicApi */
export type PolicyRejectionReason = 'bulkhead_full' | 'rate_limited' | 'timeout';

/** @publicApi */
export type PolicyEvent =
  | { readonly kind: 'retry'; readonly policy: string; readonly outcome: RetryOutcome }
  | { readonly kind: 'rejected'; readonly policy: string; readonly reason: PolicyRejectionReason };

/** @publicApi */
export type PolicyListener = (event: PolicyEvent) => void;
