import { DeadlineList, type Deadline } from '../deadline-list';
import { CallSignal } from './call-signal';
import type { PolicyListener } from './policy-events';
import { TimeoutExceededError } from './policy-errors';
import type { PolicyTimers } from './timers';

/** A running call the timeout watches. */
interface CallDeadline extends Deadline {
  readonly expire: () => void;
}

const expireCall = (deadline: CallDeadline): void => deadline.expire();

/**
 * Bounds a whole call, retries and their waits included: when `timeoutMs` elapses the call's
 * signal is aborted (so the method and a retry's wait stop) and the call fails with
 * `TimeoutExceededError`, whatever the method does with the signal. One timer watches all the
 * policy's calls (see `DeadlineList`).
 */
export class TotalTimeout {
  private readonly deadlines: DeadlineList<CallDeadline>;

  constructor(
    readonly policy: string,
    readonly timeoutMs: number,
    private readonly timers: PolicyTimers,
    private readonly emit: PolicyListener,
  ) {
    this.deadlines = new DeadlineList(timers, timers, expireCall);
  }

  /** The app closed: the timer of the calls still running holds the process open no longer. */
  detach(): void {
    this.deadlines.detach();
  }

  /**
   * Runs `run`, failing its caller with `TimeoutExceededError` after `timeoutMs`; `ended` is
   * called once `run` itself has settled (after the timeout, if it ignored its signal).
   */
  execute<T>(run: (call: CallSignal) => Promise<T>, ended?: () => void): Promise<T> {
    const call = new CallSignal();
    return new Promise<T>((resolve, reject) => {
      const deadline: CallDeadline = {
        at: this.timers.now() + this.timeoutMs,
        prev: undefined,
        next: undefined,
        // The call fails before listeners hear of it: one that throws cannot leave it hanging.
        expire: () => {
          const error = new TimeoutExceededError(this.policy, this.timeoutMs);
          reject(error);
          call.abort(error);
          this.emit({ kind: 'rejected', policy: this.policy, reason: 'timeout' });
        },
      };
      this.deadlines.add(deadline);
      let running: Promise<T>;
      try {
        running = Promise.resolve(run(call));
      } catch (error) {
        // Thrown before it returned a promise: the call is over, and so is its deadline.
        running = Promise.reject(error);
      }
      running.then(
        (value) => {
          this.deadlines.remove(deadline);
          ended?.();
          resolve(value);
        },
        (error: unknown) => {
          this.deadlines.remove(deadline);
          ended?.();
          reject(error);
        },
      );
    });
  }
}
