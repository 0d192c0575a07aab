/** The span a retry budget looks back over, in ms. */
export const BUDGET_WINDOW_MS = 10_000;
const BUCKET_MS = 1_000;
const BUCKETS = BUDGET_WINDOW_MS / BUCKET_MS;

/**
 * Retries allowed over the last 10 s: `ratio` × first tries + `minPerSecond` × 10. A ring
 * of one-second buckets with running totals, so both recording and deciding are O(1).
 * During an outage every call fails, and without it each would bring `attempts` more calls
 * to the struggling dependency; with it, retries stay a fraction of the traffic.
 */
export class RetryBudget {
  private readonly firstTries = new Array<number>(BUCKETS).fill(0);
  private readonly retries = new Array<number>(BUCKETS).fill(0);
  private totalFirstTries = 0;
  private totalRetries = 0;
  /** The second the newest bucket stands for. */
  private newest = -Infinity;

  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
  ) {}

  /** A call's first try. */
  recordFirstTry(now: number): void {
    const i = this.advance(now);
    this.firstTries[i]++;
    this.totalFirstTries++;
  }

  /** Takes one retry from the budget; false when none is left (and nothing is taken). */
  tryRetry(now: number): boolean {
    const i = this.advance(now);
    const allowed = this.ratio * this.totalFirstTries + this.minPerSecond * (BUDGET_WINDOW_MS / 1000);
    if (this.totalRetries + 1 > allowed) return false;
    this.retries[i]++;
    this.totalRetries++;
    return true;
  }

  /**
   * Gives back a retry `tryRetry(takenAt)` took and that was not made (its call was given up
   * during the wait). Nothing once that second has left the window: its bucket holds newer retries.
   */
  giveBack(takenAt: number): void {
    const second = Math.floor(takenAt / BUCKET_MS);
    if (second <= this.newest - BUCKETS || second > this.newest) return;
    const i = bucketOf(second);
    if (this.retries[i] === 0) return;
    this.retries[i]--;
    this.totalRetries--;
  }

  /** Empties the buckets that fell out of the window; returns the current bucket's index. */
  private advance(now: number): number {
    const second = Math.floor(now / BUCKET_MS);
    if (second > this.newest) {
      for (let s = Math.max(this.newest + 1, second - BUCKETS + 1); s <= second; s++) {
        const i = bucketOf(s);
        this.totalFirstTries -= this.firstTries[i];
        this.totalRetries -= this.retries[i];
        this.firstTries[i] = 0;
        this.retries[i] = 0;
      }
      this.newest = second;
    }
    return bucketOf(second);
  }
}

function bucketOf(second: number): number {
  return ((second % BUCKETS) + BUCKETS) % BUCKETS;
}
