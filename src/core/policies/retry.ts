import { backoffDelay, type BackoffOptions } from './backoff';
import type { CallSignal } from './call-signal';
import type { PolicyListener } from './policy-events';
import { isRejection } from './policy-errors';
import { RetryBudget } from './retry-budget';
import { abortableDelay, type PolicyTimers, type RandomSource } from './timers';

export interface ResolvedRetryOptions extends BackoffOptions {
  readonly attempts: number;
  readonly budget: { readonly ratio: number; readonly minPerSecond: number } | false;
}

/**
 * One attempt of a call; `call` carries the call's signal under a total timeout (else
 * undefined). Under a bulkhead, `hold` is handed the work the attempt starts (the method's own
 * promise) when that may outlive the attempt (a breaker's timeout fails it first): the call
 * keeps its slot until that work has ended.
 */
export type Attempt<T> = (
  call: CallSignal | undefined,
  hold?: (work: Promise<unknown>) => void,
) => Promise<T>;

/**
 * Tries a call again after failures it may retry, waiting longer each time, within a retry
 * budget. Never retries a rejection (an open breaker, a full bulkhead, a rate limit, load
 * shedding): retrying would only add load where the system already said no. After the last
 * attempt the method's own last error is thrown unchanged.
 */
export class RetryPolicy {
  private readonly budget: RetryBudget | undefined;
  /**
   * One per call waiting to retry, aborted by `close()`. Not one signal for all: past ten waits
   * at once, Node warns of a listener leak on it.
   */
  private readonly waiting = new Set<AbortController>();
  private closed = false;

  constructor(
    readonly policy: string,
    readonly options: ResolvedRetryOptions,
    private readonly timers: PolicyTimers,
    private readonly random: RandomSource,
    private readonly emit: PolicyListener,
  ) {
    const { budget } = options;
    this.budget = budget === false ? undefined : new RetryBudget(budget.ratio, budget.minPerSecond);
  }

  /**
   * Runs `attempt` until it succeeds or may not be retried. `mayRetry`, asked once a retry's
   * wait is over, can still refuse it (a bulkhead whose slot still runs the attempt before,
   * which a breaker's timeout failed while its method ignored its signal): the call then ends
   * with its last error.
   */
  async execute<T>(
    attempt: Attempt<T>,
    retryOn: (error: unknown) => boolean,
    call?: CallSignal,
    mayRetry?: () => boolean,
  ): Promise<T> {
    this.budget?.recordFirstTry(this.timers.now());
    for (let retry = 0; ; retry++) {
      try {
        return await attempt(call);
      } catch (error) {
        const wait = this.waitBeforeRetry(error, retry, retryOn, call);
        if (wait === undefined) throw error;
        // The wait ends early when the call is given up (its total timeout), or its app closed.
        const closing = new AbortController();
        this.waiting.add(closing);
        try {
          await abortableDelay(this.timers, wait, call?.signal, closing.signal);
        } catch {
          throw error;
        } finally {
          this.waiting.delete(closing);
        }
        if (mayRetry?.() === false) throw error;
      }
    }
  }

  /**
   * Its app closed: no call waits for another attempt any more, nor makes one; each ends with
   * its last error (a closed app's store could keep nothing of them).
   */
  close(): void {
    this.closed = true;
    for (const closing of this.waiting) closing.abort();
  }

  /**
   * How long to wait before retrying after `error`; `undefined`: throw it. An error this retry
   * would retry but gives up on is counted `exhausted`: its attempts are used up, or the error
   * asks for a wait longer than `maxDelay` (the longest this retry may wait), which no attempt
   * left could change. Neither takes anything from the budget.
   */
  private waitBeforeRetry(
    error: unknown,
    retry: number,
    retryOn: (error: unknown) => boolean,
    call: CallSignal | undefined,
  ): number | undefined {
    if (this.closed || call?.aborted || isRejection(error) || !retryOn(error)) return undefined;
    const asked = retryAfterOf(error);
    if (retry >= this.options.attempts || asked > this.options.maxDelay) {
      this.emit({ kind: 'retry', policy: this.policy, outcome: 'exhausted' });
      return undefined;
    }
    if (this.budget !== undefined && !this.budget.tryRetry(this.timers.now())) {
      this.emit({ kind: 'retry', policy: this.policy, outcome: 'budget_exhausted' });
      return undefined;
    }
    this.emit({ kind: 'retry', policy: this.policy, outcome: 'retried' });
    return Math.max(backoffDelay(this.options, retry, this.random), asked);
  }
}

/** The wait an error asks for (`retryAfterMs`, e.g. from a 429's `Retry-After`); 0 when none. */
function retryAfterOf(error: unknown): number {
  const asked = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? asked : 0;
}
