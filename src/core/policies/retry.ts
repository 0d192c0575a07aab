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
   *
   * A retry is taken from the budget when its wait starts (so calls failing together cannot all
   * pass a budget none of them has used yet), and counted `retried` when its attempt starts. One
   * given up after its wait is given back to the budget: `exhausted` when `mayRetry` refuses it
   * (the retry gives up on an error it would retry), nothing when the total timeout or the app
   * closing ended the wait (the timeout counts the call as `rejected{timeout}`, as when it ends
   * an attempt).
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
        const planned = this.planRetry(error, retry, retryOn, call);
        if (planned === undefined) throw error;
        if (!(await this.waitFor(planned.wait, call))) {
          this.giveBack(planned);
          throw error;
        }
        if (mayRetry?.() === false) {
          this.giveBack(planned);
          this.emit({ kind: 'retry', policy: this.policy, outcome: 'exhausted' });
          throw error;
        }
        this.emit({ kind: 'retry', policy: this.policy, outcome: 'retried' });
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
   * Waits `ms` before a retry; false when the wait ended early: the call was given up (its total
   * timeout), or its app closed.
   */
  private async waitFor(ms: number, call: CallSignal | undefined): Promise<boolean> {
    const closing = new AbortController();
    this.waiting.add(closing);
    try {
      await abortableDelay(this.timers, ms, call?.signal, closing.signal);
      return true;
    } catch {
      return false;
    } finally {
      this.waiting.delete(closing);
    }
  }

  /** A retry taken from the budget and not made: the budget may let another through. */
  private giveBack(planned: PlannedRetry): void {
    if (planned.takenAt !== undefined) this.budget?.giveBack(planned.takenAt);
  }

  /**
   * The retry to make after `error`, taken from the budget; `undefined`: throw it. An error this
   * retry would retry but gives up on is counted `exhausted`: its attempts are used up, or the
   * error asks for a wait longer than `maxDelay` (the longest this retry may wait), which no
   * attempt left could change. Neither takes anything from the budget.
   */
  private planRetry(
    error: unknown,
    retry: number,
    retryOn: (error: unknown) => boolean,
    call: CallSignal | undefined,
  ): PlannedRetry | undefined {
    if (this.closed || call?.aborted || isRejection(error) || !retryOn(error)) return undefined;
    const asked = retryAfterOf(error);
    if (retry >= this.options.attempts || asked > this.options.maxDelay) {
      this.emit({ kind: 'retry', policy: this.policy, outcome: 'exhausted' });
      return undefined;
    }
    let takenAt: number | undefined;
    if (this.budget !== undefined) {
      takenAt = this.timers.now();
      if (!this.budget.tryRetry(takenAt)) {
        this.emit({ kind: 'retry', policy: this.policy, outcome: 'budget_exhausted' });
        return undefined;
      }
    }
    return { wait: Math.max(backoffDelay(this.options, retry, this.random), asked), takenAt };
  }
}

/** A retry about to wait: how long, and when it was taken from the budget (none without one). */
interface PlannedRetry {
  readonly wait: number;
  readonly takenAt: number | undefined;
}

/** The wait an error asks for (`retryAfterMs`, e.g. from a 429's `Retry-After`); 0 when none. */
function retryAfterOf(error: unknown): number {
  const asked = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? asked : 0;
}
