import { MemoryAuditLog, type AuditEntry, type AuditLog } from './audit-log';
import { Breaker } from './breaker';
import type { BreakerOptions } from './breaker-options';
import { CircuitState } from './circuit-state';
import type { Clock } from './clock';
import { InvalidBreakerOptionsError } from './errors';
import { EventEmitter } from './event-emitter';
import { checkOptions } from './option-table';
import { MAX_KEYS_RULE, REGISTRY_OPTIONS } from './registry-option-table';
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
  /** @default a {@link MemoryAuditLog} of 1,000 entries */
  auditLog?: AuditLog;
}

interface RegistryEvents {
  added: Breaker;
  removed: Breaker;
}

/**
 * Every breaker of an application by name, plus per-key breakers (one per host, tenant, …)
 * under a name. Records every transition and manual action in its audit log.
 * @publicApi
 */
export class BreakerRegistry {
  private readonly named = new Map<string, Breaker>();
  /** name -> key -> breaker, least recently used first (Map keeps insertion order). */
  private readonly keyed = new Map<string, Map<string, Breaker>>();
  private readonly unsubscribe = new WeakMap<Breaker, () => void>();
  private readonly events = new EventEmitter<RegistryEvents>();
  private readonly defaults: BreakerOptions;
  private readonly configured: Record<string, BreakerOptions>;
  private readonly maxKeys: number;
  private readonly auditLog: AuditLog;

  /** @throws {InvalidBreakerOptionsError} when any configured breaker has a bad option. */
  constructor(private readonly options: BreakerRegistryOptions = {}) {
    checkOptions({ scope: 'registry' }, REGISTRY_OPTIONS, options);
    this.defaults = options.defaults ?? {};
    resolveBreakerOptions(undefined, {}, this.defaults);
    const breakers = options.breakers ?? {};
    this.configured = breakers;
    this.maxKeys = options.maxKeysPerBreaker ?? (MAX_KEYS_RULE.default as number);
    this.auditLog = options.auditLog ?? new MemoryAuditLog();
    for (const name of Object.keys(breakers)) this.get(name);
  }

  /**
   * The breaker of that name (and key), created from its configuration, or from `defaults`
   * when the name is new. A per-key breaker is named `name:key` and uses `name`'s options.
   */
  get(name: string, key?: string): Breaker {
    assertName(name);
    if (key === undefined) return this.named.get(name) ?? this.add(this.named, name, name);
    let group = this.keyed.get(name);
    if (!group) this.keyed.set(name, (group = new Map()));
    const existing = group.get(key);
    if (existing) {
      group.delete(key);
      group.set(key, existing);
      return existing;
    }
    const breaker = this.add(group, key, name, `${name}:${key}`);
    if (group.size > this.maxKeys) this.evictFrom(group, key);
    return breaker;
  }

  has(name: string, key?: string): boolean {
    return key === undefined ? this.named.has(name) : (this.keyed.get(name)?.has(key) ?? false);
  }

  /** Every breaker, named and per-key. */
  all(): Breaker[] {
    const out = [...this.named.values()];
    for (const group of this.keyed.values()) out.push(...group.values());
    return out;
  }

  /** Forgets a breaker (its metrics series go with it); true when there was one. */
  remove(name: string, key?: string): boolean {
    const map = key === undefined ? this.named : this.keyed.get(name);
    const id = key ?? name;
    if (!map?.has(id)) return false;
    this.drop(map, id);
    return true;
  }

  /** `added` fires when a breaker is created, `removed` when one is removed or evicted. */
  on<E extends keyof RegistryEvents>(event: E, listener: (breaker: Breaker) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Audit entries, newest first. */
  async audit(name?: string, { limit = 100 }: { limit?: number } = {}): Promise<AuditEntry[]> {
    return this.auditLog.list(name, limit);
  }

  private add(map: Map<string, Breaker>, id: string, configName: string, breakerName = configName): Breaker {
    const breaker = new Breaker(
      breakerName,
      Object.hasOwn(this.configured, configName) ? this.configured[configName] : undefined,
      {
        clock: this.options.clock,
        defaults: this.defaults,
      },
    );
    map.set(id, breaker);
    const offTransition = breaker.on('stateChange', (e) =>
      e.manual ? undefined : this.auditLog.append({ ...pick(e), action: 'transition' }),
    );
    const offControl = breaker.on('control', (e) => this.auditLog.append({ ...pick(e), action: e.action }));
    this.unsubscribe.set(breaker, () => {
      offTransition();
      offControl();
    });
    this.events.emit('added', breaker);
    return breaker;
  }

  /**
   * Removes the least recently used idle breaker of a group other than the one just added,
   * a closed one first. When every one has a call in flight the group stays over its bound.
   */
  private evictFrom(group: Map<string, Breaker>, added: string): void {
    let candidate: string | undefined;
    for (const [key, breaker] of group) {
      if (key === added || breaker.inFlight > 0) continue;
      if (breaker.state === CircuitState.CLOSED) {
        candidate = key;
        break;
      }
      candidate ??= key;
    }
    if (candidate !== undefined) this.drop(group, candidate);
  }

  private drop(map: Map<string, Breaker>, id: string): void {
    const breaker = map.get(id) as Breaker;
    map.delete(id);
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

function assertName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidBreakerOptionsError(String(name), 'name', name, 'a non-empty string', 'breaker');
  }
}
