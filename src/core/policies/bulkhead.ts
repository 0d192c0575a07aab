import { AsyncResource } from 'node:async_hooks';
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
  /** Fails the call: its `queueTimeout` passed, or its app closed. */
  readonly refuse: () => void;
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

  /**
   * Runs `run` in a slot, freed once its promise settles; or, when `freesItself`, once `run`
   * calls the function it is handed (a total timeout settles the caller before the work ends).
   */
  execute<T>(run: (free: () => void) => Promise<T>, freesItself = false): Promise<T> {
    if (this.running < this.options.maxConcurrent) return this.runInSlot(run, freesItself);
    if (this.queue.length >= this.options.maxQueue) return Promise.reject(this.reject(false));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        // Started by the call that frees a slot: it runs in its own caller's context, not that one's.
        start: AsyncResource.bind(() => {
          this.timers.clearTimeout(waiter.handle);
          this.runInSlot(run, freesItself).then(resolve, reject);
        }),
        refuse: () => reject(this.reject(true)),
        handle: this.timers.setTimeout(() => {
          this.queue.splice(this.queue.indexOf(waiter), 1);
          waiter.refuse();
        }, this.options.queueTimeout),
      };
      this.queue.push(waiter);
    });
  }

  /**
   * Its app closed, shutdown done waiting: each call still queued fails now with
   * `BulkheadFullError`, rather than holding the process until its `queueTimeout`.
   */
  close(): void {
    for (const waiter of this.queue.splice(0)) {
      this.timers.clearTimeout(waiter.handle);
      waiter.refuse();
    }
  }

  private runInSlot<T>(run: (free: () => void) => Promise<T>, freesItself: boolean): Promise<T> {
    this.running++;
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      this.running--;
      this.queue.shift()?.start();
    };
    let result: Promise<T>;
    try {
      result = run(free);
    } catch (error) {
      free();
      return Promise.reject(error);
    }
    if (!freesItself) result.then(free, free);
    return result;
  }

  private reject(queued: boolean): BulkheadFullError {
    this.emit({ kind: 'rejected', policy: this.policy, reason: 'bulkhead_full' });
    const { maxConcurrent, maxQueue } = this.options;
    return new BulkheadFullError(this.policy, maxConcurrent, maxQueue, queued);
  }
}
