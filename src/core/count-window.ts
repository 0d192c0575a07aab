import type { WindowRecord } from './breaker-snapshot';
import { settle, type SlidingWindow, type WindowTotals } from './sliding-window';

const FAILED = 1;
const SLOW = 2;

/**
 * The last `size` calls, as a ring of slots (resilience4j's fixed-size window):
 * recording overwrites the oldest slot and subtracts it from the running totals.
 */
export class CountWindow implements SlidingWindow {
  private readonly weights: Float64Array;
  private readonly flags: Uint8Array;
  private head = 0;
  private readonly sums: WindowTotals = { calls: 0, failedCalls: 0, failures: 0, slow: 0 };

  constructor(private readonly size: number) {
    this.weights = new Float64Array(size);
    this.flags = new Uint8Array(size);
  }

  record(_now: number, failed: boolean, weight: number, slow: boolean): Readonly<WindowTotals> {
    const i = this.head;
    const sums = this.sums;
    if (sums.calls === this.size) {
      const old = this.flags[i];
      sums.failures -= this.weights[i];
      if (old & FAILED) sums.failedCalls--;
      if (old & SLOW) sums.slow--;
      settle(sums);
    } else {
      sums.calls++;
    }
    this.weights[i] = weight;
    this.flags[i] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) sums.failedCalls++;
    if (slow) sums.slow++;
    sums.failures += weight;
    this.head = i + 1 === this.size ? 0 : i + 1;
    return sums;
  }

  totals(): Readonly<WindowTotals> {
    return this.sums;
  }

  reset(): void {
    this.head = 0;
    this.sums.calls = 0;
    settle(this.sums);
  }

  export(): WindowRecord {
    const outcomes: Array<[number, number]> = [];
    const n = this.sums.calls;
    for (let k = n; k > 0; k--) {
      const i = (this.head - k + this.size) % this.size;
      outcomes.push([this.weights[i], this.flags[i]]);
    }
    return { type: 'count', outcomes };
  }

  import(record: WindowRecord): void {
    this.reset();
    if (record.type !== 'count') return;
    for (const [weight, flags] of record.outcomes.slice(-this.size)) {
      this.record(0, (flags & FAILED) !== 0, weight, (flags & SLOW) !== 0);
    }
  }
}
