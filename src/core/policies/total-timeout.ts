import { CallSignal } from './call-signal';
import type { PolicyListener } from './policy-events';
import { TimeoutExceededError } from './policy-errors';
import type { PolicyTimers } from './timers';

/** A call the timeout watches; `expire` is dropped once the call settles. */
interface Deadline {
  readonly at: number;
  expire: (() => void) | undefined;
}

/** Settled deadlines kept at the front of the queue before it is compacted. */
const COMPACT_AFTER = 1_024;

/**
 * Bounds a whole call, retries and their waits included: when `timeoutMs` elapses the call's
 * signal is aborted (so the method and a retry's wait stop) and the call fails with
 * `TimeoutExceededError`, whatever the method does with the signal.
 *
 * Every call of a policy has the same timeout, so deadlines come in the order calls start: a
 * queue, watched by one timer set for the earliest deadline still pending. A timer per call
 * (set, then cleared) would cost more than the rest of a fast call.
 */
export class TotalTimeout {
  private readonly queue: Deadline[] = [];
  private head = 0;
  private armed = false;

  constructor(
    readonly policy: string,
    readonly timeoutMs: number,
    private readonly timers: PolicyTimers,
    private readonly emit: PolicyListener,
  ) {}

  execute<T>(run: (call: CallSignal) => Promise<T>): Promise<T> {
    const call = new CallSignal();
    return new Promise<T>((resolve, reject) => {
      const deadline: Deadline = {
        at: this.timers.now() + this.timeoutMs,
        expire: () => {
          const error = new TimeoutExceededError(this.policy, this.timeoutMs);
          this.emit({ kind: 'rejected', policy: this.policy, reason: 'timeout' });
          reject(error);
          call.abort(error);
        },
      };
      this.queue.push(deadline);
      if (!this.armed) this.arm(deadline.at);
      run(call).then(
        (value) => {
          deadline.expire = undefined;
          resolve(value);
        },
        (error: unknown) => {
          deadline.expire = undefined;
          reject(error);
        },
      );
    });
  }

  private arm(at: number): void {
    this.armed = true;
    this.timers.setTimeout(() => this.expireDue(), Math.max(0, at - this.timers.now()));
  }

  /** Expires every call whose deadline passed, then waits for the next one still pending. */
  private expireDue(): void {
    this.armed = false;
    const now = this.timers.now();
    const { queue } = this;
    while (this.head < queue.length) {
      const deadline = queue[this.head];
      if (deadline.expire !== undefined && deadline.at > now) break;
      this.head++;
      const { expire } = deadline;
      deadline.expire = undefined;
      expire?.();
    }
    if (this.head >= COMPACT_AFTER || this.head === queue.length) {
      queue.splice(0, this.head);
      this.head = 0;
    }
    // The loop stopped at the earliest deadline still pending, if any.
    if (this.head < queue.length) this.arm(queue[this.head].at);
  }
}
