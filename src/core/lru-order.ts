import type { Breaker } from './breaker';

/**
 * How many breakers with a call in flight one eviction passes over (moving each to the most
 * recent end, since it is in use) before it gives up: eviction stays O(1) even when every
 * kept breaker is busy.
 */
const BUSY_SKIPS = 8;

/** The breaker of `key` in `order` (least recently used first), moved to the most recent end. */
export function moveToEnd(order: Map<string, Breaker>, key: string): Breaker | undefined {
  const breaker = order.get(key);
  if (breaker !== undefined) {
    order.delete(key);
    order.set(key, breaker);
  }
  return breaker;
}

/**
 * Takes out of `order` the least recently used breaker with no call in flight, other than the
 * one of `keep`. Undefined when it finds none within a few busy ones.
 */
export function evictFrom(order: Map<string, Breaker>, keep: string): Breaker | undefined {
  let skipped = 0;
  for (const [key, breaker] of order) {
    if (key === keep) continue;
    if (breaker.inFlight === 0) {
      order.delete(key);
      return breaker;
    }
    if (++skipped > BUSY_SKIPS) return undefined;
    // At the end it comes round again in this loop; `skipped` bounds that.
    order.delete(key);
    order.set(key, breaker);
  }
  return undefined;
}
