import type { PolicyListener } from './policy-events';
import { TimeoutExceededError } from './policy-errors';
import type { PolicyTimers } from './timers';

/**
 * Bounds a whole call, retries and their waits included: when `timeoutMs` elapses the call's
 * signal is aborted (so the method and a retry's wait stop) and the call fails with
 * `TimeoutExceededError`, whatever the method does with the signal.
 */
export class TotalTimeout {
  constructor(
    readonly policy: string,
    readonly timeoutMs: number,
    private readonly timers: PolicyTimers,
    private readonly emit: PolicyListener,
  ) {}

  execute<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      const handle = this.timers.setTimeout(() => {
        const error = new TimeoutExceededError(this.policy, this.timeoutMs);
        this.emit({ kind: 'rejected', policy: this.policy, reason: 'timeout' });
        reject(error);
        controller.abort(error);
      }, this.timeoutMs);
      run(controller.signal).then(
        (value) => {
          this.timers.clearTimeout(handle);
          resolve(value);
        },
        (error: unknown) => {
          this.timers.clearTimeout(handle);
          reject(error);
        },
      );
    });
  }
}
