import { CallSignal } from './call-signal';
import type { PolicyListener } from './policy-events';
import { TimeoutExceededError } from './policy-errors';
import type { PolicyTimers } from './timers';

/** A running call the timeout watches: a node of the list of deadlines, earliest first. */
interface Deadline {
  readonly at: number;
  readonly expire: () => void;
  prev: Deadline | undefined;
  next: Deadline | undefined;
}

/** What is used of a timer handle that can stop holding the process open (Node's, Bun's `Timeout`). */
interface Refable {
  ref?(): unknown;
  unref?(): unknown;
}

/**
 * Bounds a whole call, retries and their waits included: when `timeoutMs` elapses the call's
 * signal is aborted (so the method and a retry's wait stop) and the call fails with
 * `TimeoutExceededError`, whatever the method does with the signal.
 *
 * Every call of a policy has the same timeout, so deadlines come in the order calls start: a
 * list (a call that settles leaves it at once), watched by one timer set for the earliest
 * deadline. A timer per call (set, then cleared) would cost more than the rest of a fast call.
 * The timer stays set once the list is empty, but no longer holds the process open (a script's
 * last call would keep it alive for the whole timeout).
 */
export class TotalTimeout {
  private first: Deadline | undefined;
  private last: Deadline | undefined;
  /** When the timer fires; undefined while none is set. */
  private armedFor: number | undefined;
  private timer: Refable | undefined;

  constructor(
    readonly policy: string,
    readonly timeoutMs: number,
    private readonly timers: PolicyTimers,
    private readonly emit: PolicyListener,
  ) {}

  execute<T>(run: (call: CallSignal) => Promise<T>): Promise<T> {
    const call = new CallSignal();
    return new Promise<T>((resolve, reject) => {
      const deadline = this.watch(this.timers.now() + this.timeoutMs, () => {
        const error = new TimeoutExceededError(this.policy, this.timeoutMs);
        this.emit({ kind: 'rejected', policy: this.policy, reason: 'timeout' });
        reject(error);
        call.abort(error);
      });
      run(call).then(
        (value) => {
          this.unwatch(deadline);
          resolve(value);
        },
        (error: unknown) => {
          this.unwatch(deadline);
          reject(error);
        },
      );
    });
  }

  private watch(at: number, expire: () => void): Deadline {
    const deadline: Deadline = { at, expire, prev: this.last, next: undefined };
    if (this.last === undefined) {
      this.first = deadline;
      this.timer?.ref?.();
    } else this.last.next = deadline;
    this.last = deadline;
    if (this.armedFor === undefined) this.arm(at);
    return deadline;
  }

  /** Takes a deadline out of the list (a settled or expired call); a second time does nothing. */
  private unwatch(deadline: Deadline): void {
    const { prev, next } = deadline;
    if (prev === undefined && this.first !== deadline) return;
    if (prev === undefined) this.first = next;
    else prev.next = next;
    if (next === undefined) this.last = prev;
    else next.prev = prev;
    deadline.prev = undefined;
    deadline.next = undefined;
    if (this.first === undefined) this.timer?.unref?.();
  }

  private arm(at: number): void {
    this.armedFor = at;
    const handle = this.timers.setTimeout(() => this.expireDue(), Math.max(0, at - this.timers.now()));
    this.timer = typeof handle === 'object' && handle !== null ? (handle as Refable) : undefined;
  }

  /**
   * Expires every call whose deadline passed, then waits for the earliest one left. The timer
   * may fire for a call that settled since: it then only moves on to the next deadline.
   */
  private expireDue(): void {
    this.armedFor = undefined;
    this.timer = undefined;
    const now = this.timers.now();
    while (this.first !== undefined && this.first.at <= now) {
      const due = this.first;
      this.unwatch(due);
      due.expire();
    }
    if (this.first !== undefined) this.arm(this.first.at);
  }
}
