import { AsyncResource } from 'node:async_hooks';

/**
 * The abort signal of a call under a total timeout, created only when something reads it:
 * an `AbortSignal` costs several microseconds to create and collect, more than a fast call,
 * and most calls end without anyone looking at theirs.
 * @publicApi
 */
export class CallSignal {
  private controller: AbortController | undefined;
  /**
   * The async context the signal was first read in, the call's: one timer ends many calls, and
   * their abort listeners must not run in the context of the call that set it (another request's).
   */
  private scope: AsyncResource | undefined;
  private abortedWith: { reason: unknown } | undefined;

  /** Whether the call was given up (its total timeout elapsed). */
  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  /** Why the call was given up (its `TimeoutExceededError`); undefined until it is. */
  get reason(): unknown {
    return this.abortedWith?.reason;
  }

  /** The signal to pass on (`fetch(url, { signal })`): aborted when the call is given up. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      this.scope = new AsyncResource('nest-resilience.CallSignal');
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.abortedWith !== undefined) return;
    this.abortedWith = { reason };
    const controller = this.controller;
    if (controller !== undefined) this.scope?.runInAsyncScope(() => controller.abort(reason));
  }
}
