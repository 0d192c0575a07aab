import type { PolicyListener } from './policy-events';
import { BulkheadFullError } from './policy-errors';
import type { PolicyTimers } from './timers';

export interface ResolvedBulkheadOptions {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly queueTimeout: number;
}

/** A call waiting for a slot. */
interface Waiter {
  readonly start: () => void;
  readonly handle: unknown;
}

/**
 * Lets at most `maxConcurrent` calls run at once and `maxQueue` wait (each at most
 * `queueTimeout`); any other call fails at once with `BulkheadFullError`, so one slow
 * dependency cannot take every connection or worker. A slot freed goes to the longest waiter.
 */
export class Bulkhead {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly policy: string,
    readonly options: ResolvedBulkheadOptions,
    private readonly timers: PolicyTimers,
    private readonly emit: PolicyListener,
  ) {}

  /** Calls running now. */
  get active(): number {
    return this.running;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.queue.length;
  }

  execute<T>(run: () => Promise<T>): Promise<T> {
    if (this.running < this.options.maxConcurrent) return this.runInSlot(run);
    if (this.queue.length >= this.options.maxQueue) return Promise.reject(this.reject(false));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          this.timers.clearTimeout(waiter.handle);
          this.runInSlot(run).then(resolve, reject);
        },
        handle: this.timers.setTimeout(() => {
          this.queue.splice(this.queue.indexOf(waiter), 1);
          reject(this.reject(true));
        }, this.options.queueTimeout),
      };
      this.queue.push(waiter);
    });
  }

  private async runInSlot<T>(run: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await run();
    } finally {
      this.running--;
      this.queue.shift()?.start();
    }
  }

  private reject(queued: boolean): BulkheadFullError {
    this.emit({ kind: 'rejected', policy: this.policy, reason: 'bulkhead_full' });
    const { maxConcurrent, maxQueue } = this.options;
    return new BulkheadFullError(this.policy, maxConcurrent, maxQueue, queued);
  }
}
