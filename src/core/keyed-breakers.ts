import type { Breaker } from './breaker';
import { CircuitState } from './circuit-state';
import { evictFrom, moveToEnd } from './lru-order';

/**
 * The per-key breakers kept under one name, by key, least recently used first, in two orders:
 * closed breakers, and the others (open, half-open, forced open, disabled). The registry moves
 * a breaker from one order to the other on each of its state changes, so an eviction finds the
 * least recently used idle closed breaker (else the least recently used idle other one) in
 * O(1), however many keys are kept and whatever state they are in.
 */
export class KeyedBreakers {
  private readonly closed = new Map<string, Breaker>();
  private readonly others = new Map<string, Breaker>();

  get size(): number {
    return this.closed.size + this.others.size;
  }

  /** The breaker of `key`, which becomes the most recently used. */
  touch(key: string): Breaker | undefined {
    return moveToEnd(this.closed, key) ?? moveToEnd(this.others, key);
  }

  /** The breaker of `key`, its place in the order left as it is. */
  get(key: string): Breaker | undefined {
    return this.closed.get(key) ?? this.others.get(key);
  }

  /** Adds `breaker` as the most recently used, in the order of its state. */
  add(key: string, breaker: Breaker): void {
    (breaker.state === CircuitState.CLOSED ? this.closed : this.others).set(key, breaker);
  }

  /** Moves `key` to the order of its new state `to`, as the most recently used. */
  moved(key: string, to: CircuitState): void {
    const [from, into] = to === CircuitState.CLOSED ? [this.others, this.closed] : [this.closed, this.others];
    const breaker = from.get(key);
    if (breaker === undefined) return;
    from.delete(key);
    into.set(key, breaker);
  }

  /** Takes the breaker of `key` out. */
  delete(key: string): Breaker | undefined {
    const breaker = this.get(key);
    this.closed.delete(key);
    this.others.delete(key);
    return breaker;
  }

  *values(): IterableIterator<Breaker> {
    yield* this.closed.values();
    yield* this.others.values();
  }

  /**
   * Takes out the least recently used breaker with no call in flight, other than the one of
   * `keep`: a closed one first. Undefined when it finds none.
   */
  evict(keep: string): Breaker | undefined {
    return evictFrom(this.closed, keep) ?? evictFrom(this.others, keep);
  }
}
