import type { Counter } from 'prom-client';

/** A counter child and the increments not yet added to it. */
export interface UnflushedCount {
  readonly child: Counter.Internal;
  unflushed: number;
}

/**
 * Creates the series at 0, so that dashboards list the breaker before its first call and
 * rate() works from the first event.
 */
export function unflushedCount(child: Counter.Internal): UnflushedCount {
  child.inc(0);
  return { child, unflushed: 0 };
}

export function flush(count: UnflushedCount): void {
  if (count.unflushed === 0) return;
  count.child.inc(count.unflushed);
  count.unflushed = 0;
}
