import type { Breaker } from './breaker';
import type { BreakerOptions } from './breaker-options';
import { CircuitState } from './circuit-state';
import { evictFrom, moveToEnd } from './lru-order';

/**
 * What makes a group of named breakers: which names belong to it, their options, and how many
 * it keeps.
 * @publicApi
 */
export interface BreakerGroupOptions {
  /** Whether a name belongs to the group (asked once per new name, never per call). */
  readonly owns: (name: string) => boolean;
  /** Most breakers the group keeps; beyond it the least recently used idle one is removed. */
  readonly max: number;
  /** Options under the registry's `defaults`: the group's own base, as a preset is. */
  readonly base?: BreakerOptions;
  /** A member's own options, above the registry's `defaults`. */
  readonly optionsFor?: (name: string) => BreakerOptions | undefined;
  /** What to do instead, said when a configured or existing breaker already has a name the group owns. */
  readonly conflictHint: string;
}

/**
 * Named breakers the registry creates on demand for the names a group owns (`http:<origin>`,
 * one per origin), kept apart from the configured ones: they do not count toward
 * `maxBreakers`, and beyond the group's `max` the least recently used one with no call in
 * flight is removed, whatever its state. `registry.get(name)`, `find()` and `all()` see them
 * as any named breaker; `get()` here also marks the breaker as just used.
 * @publicApi
 */
export class BreakerGroup {
  /** The members, least recently used first. */
  private readonly order = new Map<string, Breaker>();
  /** The member `get()` found last, while nothing has moved past it: found again without a move. */
  private newestName: string | undefined;
  private newestBreaker: Breaker | undefined;

  /** @internal Made by `BreakerRegistry.defineGroup()`. */
  constructor(
    readonly options: BreakerGroupOptions,
    /** The registry's defaults over the group's base: the defaults layer of every member. */
    readonly defaults: BreakerOptions,
    private readonly create: (name: string) => Breaker,
  ) {}

  get size(): number {
    return this.order.size;
  }

  /** The member of that name, now the most recently used; created (through the registry) when new. */
  get(name: string): Breaker {
    if (name === this.newestName) return this.newestBreaker as Breaker;
    const found = moveToEnd(this.order, name);
    if (found === undefined) return this.create(name);
    this.newestName = name;
    this.newestBreaker = found;
    return found;
  }

  /** @internal */
  add(name: string, breaker: Breaker): void {
    this.forgetNewest();
    this.order.set(name, breaker);
  }

  /** @internal True when it was a member. */
  delete(name: string): boolean {
    this.forgetNewest();
    return this.order.delete(name);
  }

  /** @internal The least recently used idle member other than `keep`, taken out; undefined when none. */
  evict(keep: string): Breaker | undefined {
    // Eviction moves busy members to the most recent end.
    this.forgetNewest();
    return evictFrom(this.order, keep);
  }

  /**
   * @internal `evict()` for a member a store brings back (`registry.surface()`): the least
   * recently used idle closed member, else the least recently used idle one. Rare (a store's
   * start-up), so it may look at every member.
   */
  evictClosedFirst(keep: string): Breaker | undefined {
    for (const [name, breaker] of this.order) {
      if (name !== keep && breaker.inFlight === 0 && breaker.state === CircuitState.CLOSED) {
        this.delete(name);
        return breaker;
      }
    }
    return this.evict(keep);
  }

  private forgetNewest(): void {
    this.newestName = undefined;
    this.newestBreaker = undefined;
  }
}
