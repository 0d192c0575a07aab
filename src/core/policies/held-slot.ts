import type { Attempt } from './retry';

/**
 * A bulkhead slot held by one call until its attempts, and the work each started, have ended.
 * A breaker's timeout fails an attempt whose method may run on (when it ignores its signal),
 * and `maxConcurrent` bounds the methods running, not the calls waiting for them: the slot is
 * freed once that work has ended too, and no retry starts while it runs, so one slot never
 * runs two.
 */
export class HeldSlot {
  /** The call itself, and each piece of work still running. */
  private holders = 1;

  constructor(private readonly free: () => void) {}

  /** `attempt`, each run told to hold the slot for the work it starts. */
  attempts<T>(attempt: Attempt<T>): Attempt<T> {
    return (call) => attempt(call, this.hold);
  }

  /** Whether no work an attempt started still runs: a retry may start another. */
  readonly idle = (): boolean => this.holders === 1;

  /** The call's attempts have settled: the slot is freed once their work has ended too. */
  readonly end = (): void => this.release();

  private readonly hold = (work: Promise<unknown>): void => {
    this.holders++;
    work.then(this.release, this.release);
  };

  private readonly release = (): void => {
    if (--this.holders === 0) this.free();
  };
}
