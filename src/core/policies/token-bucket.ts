/** Tokens this close to a whole one make one: refills add up in floating point (ten of 0.1 make 0.9999999999999999). */
const SLACK = 1e-9;

/**
 * A bucket of `capacity` tokens refilled continuously at `perMs` tokens per ms: a call takes
 * one token, so calls may come `capacity` at once after a quiet spell and at the refill rate
 * after that. It is refilled lazily when asked, never by a timer.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.refilledAt = now;
  }

  /** Takes a token: 0 when taken, else the whole ms until one is due (nothing taken). */
  take(now: number): number {
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.refilledAt) * this.perMs);
      this.refilledAt = now;
    }
    if (this.tokens >= 1 - SLACK) {
      this.tokens = Math.max(0, this.tokens - 1);
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perMs - SLACK));
  }
}
