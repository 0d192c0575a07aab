import type { WindowRecord } from './breaker-snapshot';
import { settle, type SlidingWindow, type WindowTotals } from './sliding-window';

/**
 * The last `ms` milliseconds, as a ring of buckets (resilience4j's time window):
 * 10 to 60 buckets of equal width; moving to a new bucket evicts the ones that left the
 * window and subtracts them from the running totals. A call leaves the window between
 * `ms - width` and `ms` after it was recorded.
 */
export class TimeWindow implements SlidingWindow {
  private readonly width: number;
  private readonly n: number;
  /** Bucket index (time / width) each slot holds, -1 when empty. */
  private readonly epochs: Float64Array;
  private readonly calls: Float64Array;
  private readonly failedCalls: Float64Array;
  private readonly failures: Float64Array;
  private readonly slow: Float64Array;
  private head = -1;
  /** The head's slot, and the time its bucket ends: most calls land before it, and skip the division. */
  private headSlot = 0;
  private headEnd = -Infinity;
  private readonly sums: WindowTotals = { calls: 0, failedCalls: 0, failures: 0, slow: 0 };

  constructor(ms: number) {
    this.n = Math.min(60, Math.max(10, Math.ceil(ms / 1000)));
    this.width = ms / this.n;
    // One buffer for the five columns: a breaker pays one backing store, not five.
    const n = this.n;
    const buffer = new Float64Array(5 * n);
    this.epochs = buffer.subarray(0, n).fill(-1);
    this.calls = buffer.subarray(n, 2 * n);
    this.failedCalls = buffer.subarray(2 * n, 3 * n);
    this.failures = buffer.subarray(3 * n, 4 * n);
    this.slow = buffer.subarray(4 * n, 5 * n);
  }

  record(now: number, failed: boolean, weight: number, slow: boolean): Readonly<WindowTotals> {
    const i = this.advance(now);
    const sums = this.sums;
    this.calls[i]++;
    sums.calls++;
    if (failed) {
      this.failedCalls[i]++;
      sums.failedCalls++;
    }
    if (slow) {
      this.slow[i]++;
      sums.slow++;
    }
    this.failures[i] += weight;
    sums.failures += weight;
    return sums;
  }

  totals(now: number): Readonly<WindowTotals> {
    this.advance(now);
    return this.sums;
  }

  reset(): void {
    this.epochs.fill(-1);
    this.calls.fill(0);
    this.failedCalls.fill(0);
    this.failures.fill(0);
    this.slow.fill(0);
    this.head = -1;
    this.headEnd = -Infinity;
    this.sums.calls = 0;
    settle(this.sums);
  }

  export(now: number): WindowRecord {
    this.advance(now);
    const buckets: Array<[number, number, number, number, number]> = [];
    for (let e = this.head - this.n + 1; e <= this.head; e++) {
      const i = this.slot(e);
      if (this.epochs[i] === e && this.calls[i] > 0) {
        buckets.push([e * this.width, this.calls[i], this.failedCalls[i], this.failures[i], this.slow[i]]);
      }
    }
    return { type: 'time', buckets };
  }

  import(record: WindowRecord, now: number): void {
    this.reset();
    this.advance(now);
    if (record.type !== 'time') return;
    for (const [start, calls, failed, failures, slow] of record.buckets) {
      const e = Math.floor(start / this.width);
      if (e <= this.head - this.n || e > this.head) continue;
      const i = this.slot(e);
      this.epochs[i] = e;
      this.calls[i] += calls;
      this.failedCalls[i] += failed;
      this.failures[i] += failures;
      this.slow[i] += slow;
      this.sums.calls += calls;
      this.sums.failedCalls += failed;
      this.sums.failures += failures;
      this.sums.slow += slow;
    }
  }

  private slot(epoch: number): number {
    return epoch % this.n;
  }

  /** Moves the head to `now`'s bucket, evicting buckets that left the window; returns its slot. */
  private advance(now: number): number {
    if (now >= this.headEnd) {
      const e = Math.floor(now / this.width);
      if (e > this.head) {
        const from = Math.max(this.head + 1, e - this.n + 1);
        for (let k = from; k <= e; k++) this.evict(this.slot(k), k);
        this.head = e;
        this.headSlot = this.slot(e);
        this.headEnd = (e + 1) * this.width;
      }
    }
    // A clock that steps back records into the newest bucket.
    return this.headSlot;
  }

  private evict(i: number, epoch: number): void {
    if (this.epochs[i] !== -1) {
      const sums = this.sums;
      sums.calls -= this.calls[i];
      sums.failedCalls -= this.failedCalls[i];
      sums.failures -= this.failures[i];
      sums.slow -= this.slow[i];
      settle(sums);
      this.calls[i] = 0;
      this.failedCalls[i] = 0;
      this.failures[i] = 0;
      this.slow[i] = 0;
    }
    this.epochs[i] = epoch;
  }
}
