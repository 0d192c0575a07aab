import type { Attempt } from './retry';

/**
 * A bulkhead slot held by one call until its attempts, and the work each started, have ended.
 * A breaker's timeout fails an attempt whose method may run on (when it ignores its signal),
 * and `maxConcurrent` bounds the methods running, not the calls waiting for them: the slot is
 * freed once that work has ended too, and a retry waits for it, so one slot never runs two.
 */
export class HeldSlot {
  /** The call itself, and each piece of work still running. */
  private holders = 1;
  private lastWork: Promise<void> | undefined;

  constructor(private readonly free: () => void) {}

  /** `attempt`, each run made once the work of the one before has ended, and told to hold the slot for its own. */
  attempts<T>(attempt: Attempt<T>): Attempt<T> {
    return (call) => {
      const previous = this.lastWork;
      return previous === undefined
        ? attempt(call, this.hold)
        : previous.then(() => attempt(call, this.hold));
    };
  }

  /** The call's attempts have settled: the slot is freed once their work has ended too. */
  readonly end = (): void => this.release();

  private readonly hold = (work: Promise<unknown>): void => {
    this.holders++;
    this.lastWork = work.then(this.release, this.release);
  };

  private readonly release = (): void => {
    if (--this.holders === 0) this.free();
  };
}
