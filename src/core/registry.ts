import { MemoryAuditLog, type AuditEntry, type AuditLog } from './audit-log';
import { Breaker } from './breaker';
import { BreakerGroup, type BreakerGroupOptions } from './breaker-group';
import {
  assertBreakerName,
  keyOf,
  parseBreakerName,
  toBreakerKey,
  type BreakerKeyInput,
} from './breaker-key';
import type { BreakerOptions, ResolvedBreakerOptions } from './breaker-options';
import type { Clock } from './clock';
import type { LoadSampler } from './load-sampler';
import { InvalidBreakerOptionsError, TooManyBreakersError, type InvalidBreakerKeyError } from './errors';
import { EventEmitter } from './event-emitter';
import { KeyedBreakers } from './keyed-breakers';
import { checkOptions } from './option-table';
import { MAX_BREAKERS_RULE, MAX_KEYS_RULE, REGISTRY_OPTIONS } from './registry-option-table';
import { resolveBreakerOptions } from './resolve-options';

/** @publicApi */
export interface BreakerRegistryOptions {
  /** Applied to every breaker, above its preset and below its own options. */
  defaults?: BreakerOptions;
  /** Named breakers, created at once. */
  breakers?: Record<string, BreakerOptions>;
  /** @default the wall clock */
  clock?: Clock;
  /**
   * Most per-key breakers kept under one name; beyond it the least recently used one with no
   * call in flight (a closed one first) is removed.
   * @default 1000
   */
  maxKeysPerBreaker?: number;
  /**
   * Most named breakers (configured ones included). Named breakers are never evicted, so
   * `get()` of a new name beyond it throws {@link TooManyBreakersError}: names must come from
   * code or configuration, and values from requests belong in keys.
   * @default 10000
   */
  maxBreakers?: number;
  /** @default a {@link MemoryAuditLog}: the newest 1,000 entries of each kind */
  auditLog?: AuditLog;
  /**
   * Where breakers with `loadShed` read the load: one for all of them.
   * @default one event-loop sampler per process
   */
  loadSampler?: LoadSampler;
}

interface RegistryEvents {
  added: Breaker;
  removed: Breaker;
  /** @internal For the stores (see `surface()`). */
  groupDefined: BreakerGroup;
  /** @internal For the stores (see `declaresPerKey()`). */
  perKeyDeclared: string;
  /** A key refused for a per-key breaker (see `keyFor()`): it came from a call, likely a request. */
  invalidKey: InvalidBreakerKeyError;
}

/**
 * Every breaker of an application: named ones, and per-key ones (one per host, tenant, …)
 * kept under a name. A per-key breaker is told apart by its name and key, never by a string
 * built from them: its full name `name#key` cannot be the name of another breaker, since no
 * name may contain `#`. Records every transition and manual action in its audit log.
 * @publicApi
 */
export class BreakerRegistry {
  /** Most per-key breakers kept under one name. */
  readonly maxKeysPerBreaker: number;
  private readonly named = new Map<string, Breaker>();
  private readonly keyed = new Map<string, KeyedBreakers>();
  private readonly groups: BreakerGroup[] = [];
  /** Names this app keeps per-key breakers under (see `declaresPerKey()`). */
  private readonly perKeyNames = new Set<string>();
  /** Named breakers kept in a group, which `maxBreakers` does not count. */
  private grouped = 0;
  private readonly unsubscribe = new WeakMap<Breaker, () => void>();
  private readonly events = new EventEmitter<RegistryEvents>();
  private readonly defaults: BreakerOptions;
  private readonly configured: Record<string, BreakerOptions>;
  /** Names without options of their own that take another name's (see `get()`'s `optionsFrom`). */
  private readonly optionsSources = new Map<string, string>();
  private readonly maxBreakers: number;
  private readonly auditLog: AuditLog;

  /** @throws {InvalidBreakerOptionsError} when any configured breaker has a bad option. */
  constructor(private readonly options: BreakerRegistryOptions = {}) {
    checkOptions({ scope: 'registry' }, REGISTRY_OPTIONS, options);
    this.defaults = options.defaults ?? {};
    resolveBreakerOptions(undefined, {}, this.defaults);
    const breakers = options.breakers ?? {};
    this.configured = breakers;
    this.maxKeysPerBreaker = options.maxKeysPerBreaker ?? (MAX_KEYS_RULE.default as number);
    this.maxBreakers = options.maxBreakers ?? (MAX_BREAKERS_RULE.default as number);
    this.auditLog = options.auditLog ?? new MemoryAuditLog();
    for (const name of Object.keys(breakers)) this.get(name);
    for (const name of Object.keys(breakers)) this.perKeyNames.add(name);
  }

  /**
   * The breaker of that name, created from its configuration, or from `defaults` when the name
   * is new. With a key, the per-key breaker of that key under the name, created when new with
   * the name's options; its full name is `name#key`.
   * `optionsFrom`: a name whose configured options `name` takes when it has none of its own (a
   * subclass's breaker of a method its base class declares, configured under the base class's
   * name); remembered from the first breaker of `name` created, for its per-key breakers too.
   * @throws {InvalidBreakerOptionsError} when `name` is empty or holds `#` or a control character.
   * @throws {InvalidBreakerKeyError} when `key` is not a string or a number, or is too long.
   * @throws {TooManyBreakersError} for a new name when `maxBreakers` named breakers exist.
   */
  get(name: string, key?: BreakerKeyInput, optionsFrom?: string): Breaker {
    if (key === undefined) return this.named.get(name) ?? this.addNamed(name, optionsFrom);
    const normalized = typeof key === 'string' ? key : this.keyFor(name, key);
    const kept = this.keyed.get(name)?.touch(normalized);
    if (kept !== undefined) return kept;
    if (!this.perKeyNames.has(name)) {
      assertBreakerName(name);
      this.keyFor(name, normalized);
      this.declarePerKey(name);
      // A store may have brought back this key's breaker as the name was declared.
      const surfaced = this.keyed.get(name)?.touch(normalized);
      if (surfaced !== undefined) return surfaced;
    }
    return this.addKeyed(name, normalized, optionsFrom);
  }

  /**
   * The options the per-key breakers of `name` get (its configured options over `defaults`),
   * read without creating a breaker: a breaker of the name alone, which no call would use,
   * would be listed and counted by `maxBreakers`. `optionsFrom` as for `get()`.
   * Asking declares `name` as one this app keeps per-key breakers under (the explorer asks for
   * each `@CircuitBreaker({ key })` it finds), see `declaresPerKey()`; `perKeyDeclared`
   * listeners are told the first time.
   * @throws {InvalidBreakerOptionsError} when `name` is one no breaker can have.
   */
  perKeyOptions(name: string, optionsFrom?: string): ResolvedBreakerOptions {
    this.takeOptionsFrom(name, optionsFrom);
    const options = this.optionsOf(name);
    this.declarePerKey(name);
    return options;
  }

  /**
   * @internal The options a breaker of `name` gets (its configured options over `defaults`), read
   * without creating a breaker or declaring `name` per-key: for checks made at start-up.
   * @throws {InvalidBreakerOptionsError} when `name` is one no breaker can have.
   */
  optionsOf(name: string): ResolvedBreakerOptions {
    assertBreakerName(name);
    return resolveBreakerOptions(name, this.configuredOptions(name), this.defaults);
  }

  /**
   * The key `value` stands for as the per-key breakers of `name` take it (a number as its
   * decimal string). A value no key can be is told to `invalidKey` listeners first (an app's
   * metrics log it, throttled): it comes from a call, often a request, and that call never
   * reaches a breaker that could count it.
   * @throws {InvalidBreakerKeyError} when it is not a string, a number or a bigint, or is too long.
   */
  keyFor(name: string, value: unknown): string {
    try {
      return toBreakerKey(name, value);
    } catch (error) {
      this.events.emit('invalidKey', error as InvalidBreakerKeyError);
      throw error;
    }
  }

  /**
   * @internal Whether this app declares per-key breakers under `name`: a configured name, one
   * `perKeyOptions()` was asked for (a `@CircuitBreaker({ key })` the explorer found), or one
   * `get()` was asked a per-key breaker of (a `CircuitBreakerInterceptor`'s `breakerKey`). A store
   * brings back (`surface()`) only the per-key breakers of declared names: a state it holds of
   * another name (a renamed or removed decorator's, another service's on the same Redis prefix)
   * would be shown by health and metrics for ever, as no call would ever close it.
   */
  declaresPerKey(name: string): boolean {
    return this.perKeyNames.has(name);
  }

  has(name: string, key?: BreakerKeyInput): boolean {
    return this.lookUp(name, key) !== undefined;
  }

  /**
   * The breaker a full name (as `all()` lists them: `payments`, `hosts#internal`) refers to,
   * never created by asking; undefined when there is none.
   */
  find(fullName: string): Breaker | undefined {
    const parsed = parseBreakerName(fullName);
    return parsed && this.lookUp(parsed.name, parsed.key);
  }

  /**
   * @internal The per-key breaker a full name (`hosts#internal`) refers to, or the member of a group
   * (`http:<origin>`, see `defineGroup()`), created as `get()` would create it when it does not
   * exist: for a store that holds a state of it other than closed (read at start-up, or heard
   * from the fleet), so that health and metrics show that state before a call for it comes.
   * Unlike `get()`, it never takes a name beyond `maxKeysPerBreaker`, nor a group beyond its
   * `max`: a new breaker evicts the least recently used one with no call in flight (a closed one
   * first), and when there is none, none is created. An existing breaker keeps its place in the
   * order. A per-key breaker is created only under a name this app declares (`declaresPerKey()`).
   * @returns the breaker; undefined when none was created, and for a full name that is neither
   * a per-key breaker's of a declared name nor one a group owns.
   */
  surface(fullName: string): Breaker | undefined {
    const parsed = parseBreakerName(fullName);
    if (parsed === undefined) return undefined;
    if (parsed.key === undefined) return this.surfaceMember(parsed.name);
    if (keyOf(parsed.key) === undefined) return undefined;
    const { name, key } = parsed;
    const group = this.keyed.get(name);
    const kept = group?.get(key);
    if (kept !== undefined) return kept;
    if (!this.perKeyNames.has(name)) return undefined;
    if (group !== undefined && group.size >= this.maxKeysPerBreaker) {
      const evicted = group.evict(key);
      if (evicted === undefined) return undefined;
      this.dropped(evicted);
    }
    return this.addKeyed(name, key);
  }

  /** `surface()` of a name a group owns: its member, created within the group's `max`. */
  private surfaceMember(name: string): Breaker | undefined {
    const group = this.groupOf(name);
    if (group === undefined) return undefined;
    const kept = this.named.get(name);
    if (kept !== undefined) return kept;
    if (group.size >= group.options.max) {
      const evicted = group.evictClosedFirst(name);
      if (evicted === undefined) return undefined;
      this.evicted(evicted);
    }
    return this.addNamed(name);
  }

  /** Every breaker, named and per-key. */
  all(): Breaker[] {
    const out = [...this.named.values()];
    for (const group of this.keyed.values()) out.push(...group.values());
    return out;
  }

  /** Forgets a breaker (its metrics series go with it); true when there was one. */
  remove(name: string, key?: BreakerKeyInput): boolean {
    const breaker = this.lookUp(name, key);
    if (breaker === undefined) return false;
    if (breaker.perKey === undefined) this.forgetNamed(breaker);
    else this.keyed.get(name)?.delete(breaker.perKey.key);
    this.dropped(breaker);
    return true;
  }

  /**
   * Makes the names `options.owns` accepts a group of named breakers: created on demand with
   * the group's options, not counted by `maxBreakers`, and bounded by `options.max` (see
   * {@link BreakerGroup}). Configured names always stay plain named breakers.
   * Tells `groupDefined` listeners (a store brings back the members it holds a state of).
   * @throws {InvalidBreakerOptionsError} when a breaker of a name the group owns exists already
   * (configured, or created from `defaults`).
   */
  defineGroup(options: BreakerGroupOptions): BreakerGroup {
    for (const name of this.named.keys()) {
      if (options.owns(name)) throw new InvalidBreakerOptionsError(name, 'name', name, options.conflictHint);
    }
    const group = new BreakerGroup(options, { ...options.base, ...this.defaults }, (name) => this.get(name));
    this.groups.push(group);
    this.events.emit('groupDefined', group);
    return group;
  }
  /** The group that owns `name` (see `defineGroup()`); undefined for a configured name or one no group owns. */
  groupOf(name: string): BreakerGroup | undefined {
    return Object.hasOwn(this.configured, name) ? undefined : this.groups.find((g) => g.options.owns(name));
  }

  /**
   * `added` fires when a breaker is created, `removed` when one is removed or evicted,
   * `groupDefined` when `defineGroup()` made a group, `perKeyDeclared` when a name is first
   * declared per-key (see `declaresPerKey()`; configured names are declared from the start).
   */
  on<E extends keyof RegistryEvents>(event: E, listener: (value: RegistryEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Audit entries, newest first. */
  async audit(name?: string, { limit = 100 }: { limit?: number } = {}): Promise<AuditEntry[]> {
    return this.auditLog.list(name, limit);
  }

  private lookUp(name: string, key: unknown): Breaker | undefined {
    if (key === undefined) return this.named.get(name);
    const normalized = typeof key === 'string' ? key : keyOrUndefined(name, key);
    return normalized === undefined ? undefined : this.keyed.get(name)?.get(normalized);
  }

  private addNamed(name: string, optionsFrom?: string): Breaker {
    assertBreakerName(name);
    this.takeOptionsFrom(name, optionsFrom);
    const group = this.groupOf(name);
    if (group === undefined && this.named.size - this.grouped >= this.maxBreakers) {
      throw new TooManyBreakersError(name, this.maxBreakers);
    }
    const breaker = this.create(name, undefined, group);
    this.named.set(name, breaker);
    if (group !== undefined) {
      group.add(name, breaker);
      this.grouped++;
    }
    this.events.emit('added', breaker);
    while (group !== undefined && group.size > group.options.max) {
      const evicted = group.evict(name);
      if (evicted === undefined) break;
      this.evicted(evicted);
    }
    return breaker;
  }

  /** A group's member its group took out to make room: out of the registry too. */
  private evicted(member: Breaker): void {
    this.named.delete(member.name);
    this.grouped--;
    this.dropped(member);
  }

  /** Takes a named breaker out of the registry (and out of its group). */
  private forgetNamed(breaker: Breaker): void {
    this.named.delete(breaker.name);
    if (this.groups.some((group) => group.delete(breaker.name))) this.grouped--;
  }

  private addKeyed(name: string, key: string, optionsFrom?: string): Breaker {
    assertBreakerName(name);
    this.keyFor(name, key);
    this.takeOptionsFrom(name, optionsFrom);
    let group = this.keyed.get(name);
    if (group === undefined) this.keyed.set(name, (group = new KeyedBreakers()));
    const breaker = this.create(name, { key, group });
    group.add(key, breaker);
    this.events.emit('added', breaker);
    // A store may have restored it to another state: file it under that one.
    group.moved(key, breaker.state);
    while (group.size > this.maxKeysPerBreaker) {
      const evicted = group.evict(key);
      if (evicted === undefined) break;
      this.dropped(evicted);
    }
    return breaker;
  }

  /**
   * A new breaker of `name`, or the per-key one of `key` under it (kept in `keyed.group`), or a
   * member of `group` with the group's options.
   */
  private create(name: string, keyed?: { key: string; group: KeyedBreakers }, group?: BreakerGroup): Breaker {
    const key = keyed?.key;
    const breaker = new Breaker(name, this.configuredOptions(name) ?? group?.options.optionsFor?.(name), {
      clock: this.options.clock,
      defaults: group?.defaults ?? this.defaults,
      key,
      loadSampler: this.options.loadSampler,
    });
    const offTransition = breaker.on('stateChange', (e) => {
      keyed?.group.moved(keyed.key, e.to);
      return e.manual ? undefined : this.auditLog.append({ ...pick(e), action: 'transition' });
    });
    const offControl = breaker.on('control', (e) => this.auditLog.append({ ...pick(e), action: e.action }));
    this.unsubscribe.set(breaker, () => {
      offTransition();
      offControl();
    });
    return breaker;
  }

  /** Makes `name` one this app declares per-key, telling `perKeyDeclared` listeners the first time. */
  private declarePerKey(name: string): void {
    if (this.perKeyNames.has(name)) return;
    this.perKeyNames.add(name);
    this.events.emit('perKeyDeclared', name);
  }

  /** Remembers that `name`, when not configured, takes the configured options of `source`. */
  private takeOptionsFrom(name: string, source: string | undefined): void {
    if (source !== undefined && source !== name) this.optionsSources.set(name, source);
  }

  /** The configured options of `name`, else those of the name it takes its options from. */
  private configuredOptions(name: string): BreakerOptions | undefined {
    if (Object.hasOwn(this.configured, name)) return this.configured[name];
    const source = this.optionsSources.get(name);
    return source !== undefined && Object.hasOwn(this.configured, source)
      ? this.configured[source]
      : undefined;
  }

  private dropped(breaker: Breaker): void {
    this.unsubscribe.get(breaker)?.();
    this.events.emit('removed', breaker);
  }
}

function pick(e: {
  breaker: string;
  from: AuditEntry['from'];
  to: AuditEntry['to'];
  reason: string;
  actor: string | null;
  at: number;
}): Omit<AuditEntry, 'action'> {
  return { breaker: e.breaker, from: e.from, to: e.to, reason: e.reason, actor: e.actor, at: e.at };
}

/** The key `value` stands for, or undefined when it cannot be one. */
function keyOrUndefined(name: string, value: unknown): string | undefined {
  try {
    return toBreakerKey(name, value);
  } catch {
    return undefined;
  }
}
