import { randomBytes } from 'node:crypto';
import type { AuditEntry } from '../../core/audit-log';
import { isPerKeyName, parseBreakerName } from '../../core/breaker-key';
import type { Breaker } from '../../core/breaker';
import type { BreakerGroup } from '../../core/breaker-group';
import type { ResolvedBreakerOptions } from '../../core/breaker-options';
import type {
  BreakerCoordinator,
  LocalTransition,
  RemoteTransition,
  TrialLease,
  TrialOutcome,
  TrialRefusal,
} from '../../core/breaker-coordinator';
import type { ControlAction } from '../../core/breaker-events';
import { CircuitState } from '../../core/circuit-state';
import { systemClock, type Clock } from '../../core/clock';
import { requireOptional } from '../../core/optional-peer';
import type { BreakerRegistry } from '../../core/registry';
import { resolveBreakerOptions } from '../../core/resolve-options';
import type { BreakerStore, FleetView, StoreStats } from '../breaker-store';
import type { StoreLogger } from '../store-logger';
import * as messages from '../store-messages';
import { checkStoreOptions, redisOptionsOf } from '../store-option-table';
import type { StoreOptions } from '../store-options';
import type { StoreStatus } from '../store-status';
import { ClockOffset } from './clock-offset';
import { isNoScript, luaScripts, type LuaScript } from './lua-script';
import {
  auditStreams,
  newActionId,
  RedisAuditLog,
  transitionStream,
  type AuditStreams,
} from './redis-audit-log';
import { RedisDeadLetters } from './redis-dead-letters';
import { RedisRateLimits } from './redis-rate-limits';
import { adaptRedisClient, type RedisClient, type RedisConnection } from './redis-client';
import {
  CLAIM_SCRIPT,
  CONTROL_SCRIPT,
  HEARTBEAT_SCRIPT,
  KEYED_CLOSED_MS,
  OPEN_SCRIPT,
  READ_ALL_SCRIPT,
  READ_KEYED_MAX,
  SETTLE_SCRIPT,
} from './redis-scripts';

/** Options of the redis store. @publicApi */
export type RedisStoreOptions = Extract<StoreOptions, { type: 'redis' }>;

/** A breaker's fleet state as a script answered it or a message carried it, Redis-dated. */
interface FleetRecord {
  state: CircuitState;
  gen: number;
  openedAt: number | null;
  until: number | null;
  openDuration: number;
  /** Redis' clock when it was read, and ours then: translates its times to our clock. */
  redisNow: number;
  localNow: number;
  reason: string;
  manual: boolean;
  actor: string | null;
}

/** A trial decided by this instance alone (the fleet is CLOSED, or Redis does not answer): nothing to report. */
const LOCAL_LEASE: TrialLease = { settle: () => {} };

/** The manual action that moves a breaker to each state it can move one to (its audit entry's `action`). */
const ACTION_TO: Record<string, ControlAction> = {
  [CircuitState.FORCED_OPEN]: 'trip',
  [CircuitState.CLOSED]: 'reset',
  [CircuitState.DISABLED]: 'disable',
};

/** The reason a transition read (not heard) from the fleet state carries. */
const FLEET_STATE = 'fleet_state';

/** Raised when a command outlives `commandTimeout`. */
class CommandTimeout extends Error {}

/** Raised, with no command sent, while the connection does not serve commands. */
class NotConnected extends Error {}

/** Raised when a script answers that it ran after its deadline, so changed nothing. */
class CommandExpired extends Error {}

/** A script's answer (or its first element) when it ran after its deadline. */
const EXPIRED = 'expired';

/**
 * The operations the fleet's decisions depend on: the store is up once one of them succeeds, and
 * down while they fail, also when Redis answers other commands (it refuses the scripts: out of
 * memory, an ACL user without `@scripting`).
 */
const FLEET_OPERATIONS = new Set(['subscribe', 'read', 'heartbeat', 'open', 'claim', 'settle', 'control']);

/**
 * Shares breaker decisions with every instance of a service through Redis (see
 * `docs/stores.md`). Windows count in process: a CLOSED or OPEN breaker sends no command on
 * its call path. Openings (by `fleetQuorum`), HALF_OPEN trials (under leases), manual actions
 * and the audit log are fleet-wide, each change one Lua script on Redis' clock guarded by the
 * breaker's generation, published to every instance. Redis down or slow never fails a call:
 * commands wait at most `commandTimeout`, breakers decide locally meanwhile, and on reconnect
 * the instance reads the fleet state and reports the openings it made meanwhile.
 * @publicApi
 */
export class RedisStore implements BreakerStore {
  readonly auditLog: RedisAuditLog;
  /** The audit streams: manual actions, named breakers' transitions, per-key breakers' (each capped alone). */
  private readonly audit: AuditStreams;
  readonly rateLimits: RedisRateLimits;
  readonly deadLetters: RedisDeadLetters;
  readonly instanceId: string;
  private readonly prefix: string;
  private readonly commandTimeout: number;
  private readonly heartbeat: number;
  private readonly redis: RedisConnection;
  private readonly clock: Clock;
  private registry: BreakerRegistry | null = null;
  /**
   * What this instance heard of every shared breaker, per-key ones it has not created included;
   * a per-key one it does not keep is forgotten once Redis forgot it (see {@link RedisStore.forget}).
   */
  private readonly heard = new Map<string, FleetRecord>();
  /** Openings this instance made while Redis did not answer, by breaker: reported on reconnect. */
  private readonly unreported = new Map<string, { at: number; openDuration: number; reason: string }>();
  /** How many manual actions were made on each breaker: one made while an opening was on its way overrides it. */
  private readonly actions = new Map<string, number>();
  /** Failed commands by operation; the fleet's at 0 from the start, so that a scrape shows them before any fails. */
  private readonly errors: Record<string, number> = Object.fromEntries(
    [...FLEET_OPERATIONS].map((op) => [op, 0]),
  );
  private instances = 0;
  /**
   * Redis' clock minus this instance's, as the replies bound it (unknown until Redis first
   * answered): dates the scripts' deadlines (its lowest bound) and the openings reported (its
   * middle), on Redis' clock, whatever this one's skew.
   */
  private readonly offset = new ClockOffset();
  /** Commands sent and not settled yet (timed out ones included), by operation. */
  private readonly inFlight = new Map<string, number>();
  private up = false;
  /** Whether the outage in course was logged already. */
  private warned = false;
  private timer: NodeJS.Timeout | undefined;
  private detach: Array<() => void> = [];
  private closed = false;
  private readonly coordinator: BreakerCoordinator = {
    coordinate: (transition) => this.coordinate(transition),
    claimTrial: (breaker) => this.claimTrial(breaker),
  };

  /**
   * @throws {InvalidBreakerOptionsError} when an option is bad (naming it), or `url` is given
   * and the optional peer `redis` is not installed.
   */
  constructor(
    options: RedisStoreOptions,
    private readonly logger: StoreLogger,
    deps: { clock?: Clock } = {},
  ) {
    checkStoreOptions(options);
    const o = redisOptionsOf(options);
    this.prefix = o.keyPrefix;
    this.instanceId = o.instanceId;
    this.commandTimeout = o.commandTimeout;
    this.heartbeat = o.heartbeat;
    this.clock = deps.clock ?? systemClock;
    this.redis =
      options.client === undefined
        ? connectUrl(options.url as string)
        : adaptRedisClient(options.client, false);
    this.audit = auditStreams((suffix) => this.key(suffix));
    const script = (operation: string, lua: LuaScript, keys: string[], args: string[]) =>
      this.evalScript(operation, lua, keys, args);
    this.auditLog = new RedisAuditLog({
      command: (operation, args) => this.command(operation, args),
      script,
      coordinates: (name) =>
        this.registry !== null && !this.closed && this.registry.find(name)?.options.shared === true,
      isUp: () => this.up,
      deadline: () => this.deadline(this.clock.now()),
      commandTimeout: this.commandTimeout,
      instance: this.instanceId,
      streams: this.audit,
    });
    this.rateLimits = new RedisRateLimits({
      script,
      isUp: () => this.up,
      key: (suffix) => this.key(suffix),
      deadline: () => this.deadline(this.clock.now()),
    });
    this.deadLetters = new RedisDeadLetters({
      command: (operation, args) => this.command(operation, args),
      script,
      key: this.key('dead-letters'),
    });
  }

  /**
   * Follows every shared breaker of `registry` (and each added later), subscribes to the fleet's
   * transitions and reads the fleet state, waiting at most `commandTimeout` for Redis: a
   * store that cannot reach it starts down and decides locally until it answers.
   */
  async attach(registry: BreakerRegistry): Promise<void> {
    if (this.registry !== null) throw new Error(messages.STORE_ALREADY_ATTACHED());
    this.registry = registry;
    registry.all().forEach((breaker) => this.follow(breaker));
    this.detach.push(
      registry.on('added', (breaker) => this.follow(breaker)),
      registry.on('removed', (breaker) => breaker.coordinateWith(null)),
      registry.on('groupDefined', (group) => this.surfaceMembers(group)),
      registry.on('perKeyDeclared', (name) => this.surfaceKeys(name)),
    );
    let connected!: () => void;
    const ready = new Promise<void>((resolve) => (connected = resolve));
    this.redis.onReady(() => {
      connected();
      this.loadScripts();
      void this.resync();
    });
    // An app's client connected already: its next 'ready' is a reconnect's.
    if (this.redis.ready()) this.loadScripts();
    // Transitions published while the subscription was away are read back from the fleet state.
    const subscribed = this.redis.subscribe(
      this.key('transitions'),
      (message) => this.hear(message),
      () => void this.resync(),
    );
    subscribed.catch(() => undefined);
    // A client still connecting (the store's own, or an app's one it was handed before it was ready).
    const [subscription] = await Promise.allSettled([
      this.bounded(subscribed),
      this.redis.ready() ? undefined : this.bounded(ready),
    ]);
    if (subscription.status === 'rejected') this.failed('subscribe', subscription.reason);
    await this.resync();
    this.timer = setInterval(() => void this.beat(), this.heartbeat);
    this.timer.unref();
    void this.beat();
  }

  status(): StoreStatus {
    return { type: 'redis', status: this.up ? 'up' : 'down' };
  }

  /** Whether Redis answers, failed commands by operation, and the live instances. */
  stats(): StoreStats {
    return { up: this.up, errors: { ...this.errors }, instances: this.instances };
  }

  async flush(): Promise<void> {}

  /** Stops the heartbeat, drops this instance from the fleet view, and closes what the store opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const off of this.detach.splice(0)) off();
    for (const breaker of this.registry?.all() ?? []) breaker.coordinateWith(null);
    if (this.up) {
      await this.auditLog.flush();
      await this.command('heartbeat', ['DEL', this.key(`instance:${this.instanceId}`)]).catch(
        () => undefined,
      );
      await this.command('heartbeat', ['ZREM', this.key('instances'), this.instanceId]).catch(
        () => undefined,
      );
    }
    await this.redis.close();
  }

  /** Every live instance's breakers, as their last heartbeats reported them. */
  async fleet(): Promise<FleetView> {
    const ids = (await this.command('fleet', ['ZRANGE', this.key('instances'), '0', '-1'])) as string[];
    if (ids.length === 0) return { instances: [] };
    const bodies = (await this.command('fleet', [
      'MGET',
      ...ids.map((id) => this.key(`instance:${id}`)),
    ])) as Array<string | null>;
    const instances = bodies.flatMap((body) =>
      body === null ? [] : [JSON.parse(body) as FleetView['instances'][0]],
    );
    this.instances = instances.length;
    return { instances: instances.sort((a, b) => a.instance.localeCompare(b.instance)) };
  }

  private follow(breaker: Breaker): void {
    if (!breaker.options.shared) return;
    breaker.coordinateWith(this.coordinator);
    const known = this.heard.get(breaker.name);
    if (known !== undefined && known.state !== CircuitState.CLOSED) breaker.applyRemote(this.toRemote(known));
  }

  private coordinate(t: LocalTransition): Promise<void> | void {
    const { breaker: name } = t;
    if (t.manual) {
      // An operator's action overrides an opening not reported yet (made while Redis was away).
      this.unreported.delete(name);
      this.actions.set(name, (this.actions.get(name) ?? 0) + 1);
      return this.control(name, t);
    }
    // Only an opening from the window is the fleet's business: trials report through their leases.
    if (t.from !== CircuitState.CLOSED || t.to !== CircuitState.OPEN) return;
    const breaker = this.registry?.find(name);
    if (breaker === undefined) return;
    void this.reportOpening(breaker, { at: t.at, openDuration: t.openDuration, reason: t.reason });
  }

  private async reportOpening(
    breaker: Breaker,
    opening: { at: number; openDuration: number; reason: string },
  ) {
    const name = breaker.name;
    const actions = this.actions.get(name);
    const offset = this.offset.middle();
    if (!this.up || offset === null) {
      this.unreported.set(name, opening);
      return;
    }
    try {
      // Its age is measured by the script, on Redis' clock, when it runs.
      const answer = await this.script(
        'open',
        OPEN_SCRIPT,
        this.breakerKeys(name, 'quorum', 'trials', 'breakers', 'audit', 'keyed'),
        [
          name,
          this.instanceId,
          String(opening.openDuration),
          String(breaker.options.fleetQuorum),
          opening.reason,
          String(opening.at + offset),
          this.key('transitions'),
        ],
      );
      if (answer.outcome === 'won' || answer.outcome === 'same') this.learn(name, answer.record, true);
    } catch {
      // Not applied: reported again on reconnect, unless an operator acted meanwhile.
      if (this.actions.get(name) === actions) this.unreported.set(name, opening);
    }
  }

  /**
   * A manual action (to CLOSED, FORCED_OPEN or DISABLED), for every instance, with its audit
   * entry. One that does not reach the fleet (Redis down, not answering in time, or its script
   * late) stands on this instance only, which writes its entry (now or once Redis answers).
   */
  private async control(name: string, t: LocalTransition): Promise<void> {
    const id = newActionId();
    const entry: AuditEntry = {
      breaker: name,
      action: ACTION_TO[t.to],
      from: t.from,
      to: t.to,
      reason: t.reason,
      actor: t.actor,
      at: t.at,
    };
    let deadline: string;
    try {
      deadline = this.deadline(this.clock.now());
    } catch {
      // Redis never answered yet: nothing is sent.
      return this.auditLog.keep(entry, id, null);
    }
    let answer: ScriptAnswer;
    try {
      answer = await this.script(
        'control',
        CONTROL_SCRIPT,
        [...this.breakerKeys(name, 'quorum', 'trials', 'breakers', 'keyed'), this.audit.manual],
        [
          name,
          t.to,
          t.reason,
          t.actor ?? '',
          this.instanceId,
          this.key('transitions'),
          String(t.openDuration),
          entry.action,
          t.from,
          String(t.at),
          id,
        ],
        deadline,
      );
    } catch {
      // Not applied (or applied without an answer in time: its entry is then found, not written
      // twice). The action stands on this instance; the fleet state is read again on reconnect.
      const sent = Number(deadline);
      return this.auditLog.keep(entry, id, { from: sent - this.commandTimeout, to: sent });
    }
    // Applied, not only kept: an older action heard before this answer must not stand.
    this.learn(name, answer.record, true);
  }

  private async claimTrial(name: string): Promise<TrialLease | TrialRefusal | null> {
    const breaker = this.registry?.find(name);
    if (breaker === undefined || !this.up) return LOCAL_LEASE;
    const o = breaker.options;
    const lease = `${this.instanceId}:${randomBytes(6).toString('hex')}`;
    let answer: ScriptAnswer;
    try {
      answer = await this.script(
        'claim',
        CLAIM_SCRIPT,
        this.breakerKeys(name, 'trials', 'breakers', 'audit', 'keyed'),
        [
          name,
          lease,
          String(o.halfOpenMaxCalls),
          String(o.halfOpenMaxWait),
          this.instanceId,
          this.key('transitions'),
          String(o.openBackoff),
          String(o.openDurationMax),
        ],
      );
    } catch {
      return LOCAL_LEASE;
    }
    if (answer.outcome === 'local') return LOCAL_LEASE;
    if (answer.outcome === 'granted') {
      const gen = answer.record.gen;
      return { settle: (outcome) => void this.settleTrial(breaker, lease, gen, outcome) };
    }
    if (answer.outcome === 'full')
      return { retryAfterMs: Math.max(0, Number(answer.extra) - answer.record.redisNow) };
    this.learn(name, answer.record, true);
    return null;
  }

  private async settleTrial(
    breaker: Breaker,
    lease: string,
    gen: number,
    outcome: TrialOutcome,
  ): Promise<void> {
    const o = breaker.options;
    try {
      const answer = await this.script(
        'settle',
        SETTLE_SCRIPT,
        this.breakerKeys(breaker.name, 'trials', 'breakers', 'audit', 'keyed'),
        [
          breaker.name,
          lease,
          String(gen),
          outcome,
          String(o.halfOpenMaxCalls),
          this.instanceId,
          this.key('transitions'),
          String(o.openBackoff),
          String(o.openDurationMax),
        ],
      );
      // Won: this trial closed or reopened the fleet, or another's lease had expired and reopened it.
      if (answer.outcome === 'won') this.learn(breaker.name, answer.record);
    } catch {
      // The lease expires by itself; the fleet counts it as a failed trial.
    }
  }

  /** A transition another instance (or this one) published. */
  private hear(message: string): void {
    let m: Published;
    try {
      m = JSON.parse(message) as Published;
    } catch {
      return;
    }
    // A transition of no higher generation, dated after the one known, was made after Redis restarted empty.
    const known = this.heard.get(m.n);
    if (known !== undefined && m.g <= known.gen && m.t > known.redisNow) this.heard.delete(m.n);
    this.learn(m.n, {
      state: m.s,
      gen: m.g,
      openedAt: numberOrNull(m.o),
      until: numberOrNull(m.u),
      openDuration: Number(m.d),
      redisNow: m.t,
      localNow: this.clock.now(),
      reason: m.r,
      manual: m.m,
      actor: m.a === '' ? null : m.a,
    });
    this.surface([m.n]);
  }

  /**
   * Creates here the per-key breakers and the members of groups (`http:<origin>`, see
   * `BreakerRegistry.defineGroup`) among `names` (full names, the most telling first) that the
   * fleet holds in a state other than CLOSED and this instance does not keep, so that its health
   * and metrics show them before a call for them comes: per-key ones only under a name this app
   * declares per-key (`BreakerRegistry.declaresPerKey`: another service's on the same prefix, or
   * a name no code uses any more, stay in `heard` alone), at most `maxKeysPerBreaker` per name, and
   * the group's `max` per group (forced open and disabled first, then those whose open periods
   * end last), through the registry, which keeps its bounds (see `BreakerRegistry.surface`). Each
   * one takes the state heard as it is created (see {@link RedisStore.follow}).
   */
  private surface(names: readonly string[]): void {
    const registry = this.registry;
    if (registry === null || this.closed) return;
    const chosen: string[] = [];
    /** How many more may be created under each name: none under a name whose breakers are not shared. */
    const room = new Map<string, number>();
    /** The members of each group the fleet holds not CLOSED, with what was heard of them. */
    const members = new Map<BreakerGroup, Array<{ name: string; record: FleetRecord; kept: boolean }>>();
    for (const fullName of names) {
      const record = this.heard.get(fullName);
      if (record === undefined || record.state === CircuitState.CLOSED) continue;
      const parsed = parseBreakerName(fullName);
      if (parsed === undefined) continue;
      // One kept here takes its room, so that a read made again (a reconnect) changes none for another.
      const kept = registry.find(fullName) !== undefined;
      const { name } = parsed;
      if (parsed.key === undefined) {
        const group = registry.groupOf(name);
        if (group === undefined || !memberOptions(group, name).shared) continue;
        const listed = members.get(group);
        if (listed === undefined) members.set(group, [{ name, record, kept }]);
        else listed.push({ name, record, kept });
        continue;
      }
      if (!registry.declaresPerKey(name)) continue;
      const left = room.get(name) ?? (registry.perKeyOptions(name).shared ? registry.maxKeysPerBreaker : 0);
      room.set(name, left - 1);
      if (left > 0 && !kept) chosen.push(fullName);
    }
    for (const [group, listed] of members) {
      listed.sort((a, b) => tellingFirst(a.record, b.record));
      for (const member of listed.slice(0, group.options.max)) if (!member.kept) chosen.push(member.name);
    }
    // The most telling last: it ends up the most recently used.
    for (let i = chosen.length - 1; i >= 0; i--) registry.surface(chosen[i]);
  }

  /**
   * Creates the per-key breakers of `name`, just declared per-key (the explorer finds a
   * `@CircuitBreaker({ key })` after attach), the fleet holds not CLOSED, the most telling first.
   */
  private surfaceKeys(name: string): void {
    const listed = [...this.heard]
      .filter(([fullName]) => isPerKeyName(fullName) && parseBreakerName(fullName)?.name === name)
      .sort(([, a], [, b]) => tellingFirst(a, b));
    this.surface(listed.map(([fullName]) => fullName));
  }

  /** Creates the members of `group`, just defined (`createResilientFetch()` after attach), the fleet holds not CLOSED. */
  private surfaceMembers(group: BreakerGroup): void {
    const registry = this.registry as BreakerRegistry;
    this.surface(
      [...this.heard.keys()].filter((name) => !isPerKeyName(name) && registry.groupOf(name) === group),
    );
  }

  /**
   * Applies a fleet state newer than the one heard last to the breaker, if it exists here.
   * `correcting`: a script answered with the fleet's state because the breaker acted on another
   * (its clock ran ahead, a message is still on its way): applied even when heard already, so
   * the breaker does not ask again on its next call.
   */
  private learn(name: string, record: FleetRecord, correcting = false): void {
    const previous = this.heard.get(name);
    if (!this.remember(name, record, correcting)) return;
    const breaker = this.registry?.find(name);
    if (breaker === undefined || !breaker.options.shared) return;
    // A read (or a script's answer) finding it CLOSED is no transition: it leaves a CLOSED window
    // alone, and this instance's own opening if nothing else was heard since. A fleet transition
    // to CLOSED starts a new window here even if CLOSED already (opened alone, or below quorum).
    if (
      record.state === CircuitState.CLOSED &&
      record.reason === FLEET_STATE &&
      (breaker.state === CircuitState.CLOSED ||
        previous === undefined ||
        previous.state === CircuitState.CLOSED)
    )
      return;
    breaker.applyRemote(this.toRemote(record));
  }

  /** Keeps `record` if it is newer than what was heard (or as new, with `orSame`); true when it was. */
  private remember(name: string, record: FleetRecord, orSame = false): boolean {
    const known = this.heard.get(name);
    if (known !== undefined && (orSame ? known.gen > record.gen : known.gen >= record.gen)) return false;
    this.heard.set(name, record);
    return true;
  }

  /** The record as a transition on this instance's clock. */
  private toRemote(r: FleetRecord): RemoteTransition {
    const local = (at: number) => at - r.redisNow + r.localNow;
    const openedAt = r.openedAt === null ? null : local(r.openedAt);
    if (r.state === CircuitState.OPEN || r.state === CircuitState.HALF_OPEN) {
      return {
        to: CircuitState.OPEN,
        openedAt: openedAt ?? r.localNow,
        until: local(r.until ?? r.redisNow),
        openDuration: r.openDuration,
        reason: r.reason,
      };
    }
    return { to: r.state, reason: r.reason, manual: r.manual, actor: r.actor, openedAt };
  }

  /** Reads the whole fleet state and reports the openings made while Redis was away. */
  private async resync(): Promise<void> {
    if (this.closed) return;
    let reply: unknown[];
    const sentAt = this.clock.now();
    try {
      reply = (await this.evalScript(
        'read',
        READ_ALL_SCRIPT,
        [this.key('breakers'), this.key('keyed')],
        [this.prefix, String(READ_KEYED_MAX)],
      )) as unknown[];
    } catch {
      return;
    }
    const redisNow = Number(reply[0]);
    const localNow = this.clock.now();
    this.offset.measure(redisNow, sentAt, localNow);
    const listed = new Set<string>();
    for (let i = 1; i + 5 < reply.length; i += 6) {
      const name = String(reply[i]);
      listed.add(name);
      const gen = Number(reply[i + 2]);
      if (this.startedOver(name, gen, redisNow)) this.heard.delete(name);
      // A per-key state read before what was heard, yet of a higher generation, is of a state
      // that expired since (generations start over at least KEYED_CLOSED_MS after it): older.
      const known = this.heard.get(name);
      if (isPerKeyName(name) && known !== undefined && known.gen < gen && known.redisNow > redisNow) continue;
      this.learn(name, {
        ...toRecord(reply.slice(i + 1, i + 6), redisNow, localNow),
        reason: FLEET_STATE,
        manual: false,
        actor: null,
      });
    }
    // Redis lost what was heard (restarted empty): its generations start over, so forget the old ones.
    for (const name of [...this.heard.keys()])
      if (!listed.has(name) && this.startedOver(name, 0, redisNow)) this.heard.delete(name);
    // Listed forced open and disabled first, then by when their states expire, the latest first.
    this.surface([...listed]);
    for (const [name, opening] of [...this.unreported]) {
      this.unreported.delete(name);
      const breaker = this.registry?.find(name);
      if (breaker !== undefined && localNow - opening.at < opening.openDuration)
        await this.reportOpening(breaker, opening);
    }
    // The audit entries of manual actions that applied here alone (before attach, while down).
    await this.auditLog.flush();
  }

  /**
   * Whether a read at `redisNow` finding generation `gen` means Redis restarted empty since what
   * was heard last: the read is of a lower generation and dated after it (Redis' clock). A read
   * made before it may reach this instance after it, its answer and the messages coming on two
   * connections: that read is only older.
   */
  private startedOver(name: string, gen: number, redisNow: number): boolean {
    const known = this.heard.get(name);
    return known !== undefined && known.gen > gen && known.redisNow < redisNow;
  }

  /**
   * Forgets what was heard of the per-key breakers this instance does not keep once Redis has
   * forgotten them too (their state expired, see `KEYED_CLOSED_MS`), and a read sent before then
   * can no longer come back: Redis would answer CLOSED for them, as this instance assumes for a
   * name it never heard of. Those an operator forced open or disabled are kept, as in Redis.
   */
  private forget(): void {
    const now = this.clock.now();
    for (const [name, r] of this.heard) {
      if (!isPerKeyName(name) || this.registry?.find(name) !== undefined) continue;
      if (r.state === CircuitState.FORCED_OPEN || r.state === CircuitState.DISABLED) continue;
      let expires = r.redisNow + KEYED_CLOSED_MS;
      if (r.state !== CircuitState.CLOSED && r.until !== null)
        expires = Math.max(expires, r.until + r.openDuration);
      if (expires - r.redisNow + r.localNow + this.commandTimeout < now) this.heard.delete(name);
    }
  }

  private async beat(): Promise<void> {
    const registry = this.registry;
    this.forget();
    // Not while the last one is on its way: a stalled link would pile up every instance's snapshots.
    if (registry === null || this.closed || (this.inFlight.get('heartbeat') ?? 0) > 0) return;
    // Redis never answered (it stalled since this instance started): a read learns its clock first,
    // one at a time.
    if (!this.offset.known) return (this.inFlight.get('read') ?? 0) > 0 ? undefined : this.resync();
    const body = JSON.stringify({
      instance: this.instanceId,
      seenAt: this.clock.now(),
      breakers: registry.all().map((breaker) => breaker.snapshot()),
    });
    const wasUp = this.up;
    const sentAt = this.clock.now();
    try {
      const [outcome, live, redisNow] = (await this.evalScript(
        'heartbeat',
        HEARTBEAT_SCRIPT,
        [this.key(`instance:${this.instanceId}`), this.key('instances')],
        [this.instanceId, body, String(this.heartbeat), this.deadline(sentAt)],
      )) as [string, number, number];
      this.offset.measure(Number(redisNow), sentAt, this.clock.now());
      if (outcome === EXPIRED) throw new CommandExpired();
      this.instances = Number(live);
    } catch {
      return;
    }
    if (!wasUp) await this.resync();
    // Entries that could not be written when they were made (Redis answered, yet not in time).
    else if (this.auditLog.waits) await this.auditLog.flush();
  }

  /**
   * Runs a script that changes the fleet state, with its deadline (by default one dated now).
   * One that ran after it rejects with {@link CommandExpired}, as one that timed out: in both
   * cases it changed nothing.
   */
  private async script(
    operation: string,
    script: LuaScript,
    keys: string[],
    args: string[],
    deadline?: string,
  ): Promise<ScriptAnswer> {
    const sentAt = this.clock.now();
    const reply = (await this.evalScript(operation, script, keys, [
      ...args,
      deadline ?? this.deadline(sentAt),
    ])) as unknown[];
    const localNow = this.clock.now();
    this.offset.measure(Number(reply[6]), sentAt, localNow);
    // Answered in time, yet late on Redis' clock: the offset was off (this clock jumped), now measured again.
    if (reply[0] === EXPIRED) throw new CommandExpired();
    const record = toRecord(reply.slice(1, 7), Number(reply[6]), localNow);
    return {
      outcome: String(reply[0]),
      record: { ...record, reason: FLEET_STATE, manual: false, actor: null },
      extra: reply[7],
    };
  }

  /**
   * Loads every script into Redis (`SCRIPT LOAD`) as the connection becomes ready, so that
   * none meets `NOSCRIPT` after a restart or at first connect and pays a second round trip for
   * its body (a HALF_OPEN claim included). Not waited for: sent first on the connection, they
   * run before any script sent after them, the first read of the fleet state included. A load
   * that fails counts under `script_load`, as any command does; the scripts still fall back to
   * their body.
   */
  private loadScripts(): void {
    if (this.closed) return;
    for (const script of luaScripts())
      this.command('script_load', ['SCRIPT', 'LOAD', script.body]).catch(() => undefined);
  }

  /** A plain command (not a script), see {@link RedisStore.request}. */
  private command(operation: string, args: string[]): Promise<unknown> {
    return this.request(operation, () => this.redis.command(args));
  }

  /**
   * Runs `script` by its SHA1 (`EVALSHA`), and by its body (`EVAL`) when Redis answers that it
   * does not hold it (`NOSCRIPT`: its first use there, a restart, a failover, a `SCRIPT FLUSH`),
   * within the same `commandTimeout`: the body is not sent once the store stopped waiting (its
   * deadline would have passed). An answer `expired` (a script that changes what Redis keeps ran
   * after its deadline, and changed nothing) is a failed command of `operation`, as a timeout is.
   */
  private async evalScript(
    operation: string,
    script: LuaScript,
    keys: string[],
    args: string[],
  ): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    const reply = await this.request(operation, (gaveUp) =>
      this.redis.command(['EVALSHA', script.sha, ...tail]).catch((error: unknown) => {
        if (!isNoScript(error) || gaveUp() || !this.redis.ready()) throw error;
        return this.redis.command(['EVAL', script.body, ...tail]);
      }),
    );
    if (reply === EXPIRED || (Array.isArray(reply) && reply[0] === EXPIRED))
      this.errors[operation] = (this.errors[operation] ?? 0) + 1;
    return reply;
  }

  /**
   * Every command goes through here: `send` (told whether the store stopped waiting) bounded by
   * `commandTimeout`, counted when it fails. An outage starts when a command gets no answer, or
   * a fleet command an error reply; its first failure is logged, and the first fleet command
   * that succeeds ends it (a plain read that works says nothing of the scripts).
   */
  private async request(
    operation: string,
    send: (gaveUp: () => boolean) => Promise<unknown>,
  ): Promise<unknown> {
    let reply: unknown;
    let gaveUp = false;
    try {
      if (!this.redis.ready()) throw new NotConnected(withLastError('not connected', this.redis));
      const sending = send(() => gaveUp);
      reply = await this.bounded(this.sent(operation, sending));
    } catch (error) {
      gaveUp = true;
      this.failed(operation, error);
      throw error;
    }
    if (!this.up && FLEET_OPERATIONS.has(operation)) {
      this.up = true;
      if (this.warned) this.logger.log?.(messages.REDIS_RECOVERED(this.prefix));
      this.warned = false;
    }
    return reply;
  }

  private failed(operation: string, error: unknown): void {
    this.errors[operation] = (this.errors[operation] ?? 0) + 1;
    const refused = isErrorReply(error);
    // An error reply to a plain command (an audit read, a dead letter) is that command's caller's.
    if (refused && !FLEET_OPERATIONS.has(operation)) return;
    this.up = false;
    if (this.warned || this.closed) return;
    this.warned = true;
    const reason = messages.reasonOf(error);
    this.logger.warn(
      refused
        ? messages.REDIS_REFUSES(this.prefix, reason)
        : messages.REDIS_DOWN(this.prefix, reason, this.commandTimeout),
    );
  }

  /** `command`, counted in {@link RedisStore.inFlight} under `operation` until it settles. */
  private sent<T>(operation: string, command: Promise<T>): Promise<T> {
    this.inFlight.set(operation, (this.inFlight.get(operation) ?? 0) + 1);
    const settled = () => this.inFlight.set(operation, (this.inFlight.get(operation) ?? 1) - 1);
    command.then(settled, settled);
    return command;
  }

  /**
   * The deadline of a script sent at `sentAt`, on Redis' clock: when this instance stops waiting
   * for it, or earlier by as much as the offset may be off, never later, so that what it took as
   * not applied is not. Throws {@link NotConnected} before Redis first answered (no offset known).
   */
  private deadline(sentAt: number): string {
    const offset = this.offset.lowest(sentAt);
    if (offset === null) throw new NotConnected('Redis has not answered yet');
    return String(sentAt + offset + this.commandTimeout);
  }

  private bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new CommandTimeout(withLastError(`no answer within ${this.commandTimeout} ms`, this.redis))),
        this.commandTimeout,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private key(suffix: string): string {
    return this.prefix + suffix;
  }

  /** The state key of breaker `name`, then its other keys and the store's shared ones, in order. */
  private breakerKeys(
    name: string,
    ...kinds: Array<'quorum' | 'trials' | 'breakers' | 'audit' | 'keyed'>
  ): string[] {
    return [
      this.key(`state:${name}`),
      ...kinds.map((kind) =>
        kind === 'audit'
          ? transitionStream(this.audit, name)
          : kind === 'breakers' || kind === 'keyed'
            ? this.key(kind)
            : this.key(`${kind}:${name}`),
      ),
    ];
  }
}

interface ScriptAnswer {
  outcome: string;
  record: FleetRecord;
  /** What some outcomes add (`pending`: how many opened it; `full`: when the oldest lease expires). */
  extra: unknown;
}

/** A transition as the scripts publish it. */
interface Published {
  n: string;
  s: CircuitState;
  g: number;
  o: string | number;
  u: string | number;
  d: string | number;
  t: number;
  r: string;
  m: boolean;
  a: string;
}

/** `{ state, gen, openedAt, until, openDuration }` as a script answers them. */
function toRecord(
  values: unknown[],
  redisNow: number,
  localNow: number,
): Omit<FleetRecord, 'reason' | 'manual' | 'actor'> {
  const [state, gen, openedAt, until, openDuration] = values;
  return {
    state: String(state) as CircuitState,
    gen: Number(gen),
    openedAt: numberOrNull(openedAt),
    until: numberOrNull(until),
    openDuration: Number(openDuration),
    redisNow,
    localNow,
  };
}

/**
 * Whether `error` is Redis' error reply (it answered, refusing the command): node-redis'
 * `ErrorReply` (and its subclasses), ioredis' `ReplyError`. Told by class name, as the error
 * comes from the app's copy of its library.
 */
function isErrorReply(error: unknown): boolean {
  for (let p: unknown = error; typeof p === 'object' && p !== null; p = Object.getPrototypeOf(p)) {
    const name = Object.prototype.hasOwnProperty.call(p, 'constructor')
      ? (p as { constructor: { name?: string } }).constructor.name
      : undefined;
    if (name === 'ErrorReply' || name === 'ReplyError') return true;
  }
  return false;
}

/** The options a member of `group` named `name` gets, read without creating it. */
function memberOptions(group: BreakerGroup, name: string): ResolvedBreakerOptions {
  return resolveBreakerOptions(name, group.options.optionsFor?.(name), group.defaults);
}

/**
 * Sorts fleet states the most telling first: forced open and disabled (an operator's, kept until
 * one acts again), then those whose open periods end last.
 */
function tellingFirst(a: FleetRecord, b: FleetRecord): number {
  const manual = (r: FleetRecord) =>
    r.state === CircuitState.FORCED_OPEN || r.state === CircuitState.DISABLED;
  if (manual(a) !== manual(b)) return manual(a) ? -1 : 1;
  return (b.until ?? 0) - (a.until ?? 0);
}

function numberOrNull(value: unknown): number | null {
  return value === '' || value === null || value === undefined ? null : Number(value);
}

/** A node-redis client of `url`, through the optional peer `redis`, connecting in the background. */
function connectUrl(url: string): RedisConnection {
  const redis = requireOptional<{
    createClient(options: object): RedisClient & { connect(): Promise<unknown> };
  }>('redis');
  if (redis === undefined) throw new Error(messages.REDIS_PEER_MISSING());
  const client = redis.createClient({
    url,
    // Commands fail at once while disconnected, instead of queueing until Redis is back.
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000) },
  });
  // Its errors are the store's to hear (nothing else listens): the last one says why it is down.
  let lastError: unknown;
  client.on('error', (error: unknown) => (lastError = error));
  client.on('ready', () => (lastError = undefined));
  client.connect().catch((error: unknown) => (lastError = error));
  return { ...adaptRedisClient(client, true), lastError: () => lastError };
}

/** `reason`, with what the connection last failed with when it is known (a refused connection, a wrong password). */
function withLastError(reason: string, connection: RedisConnection): string {
  const error = connection.lastError?.();
  return error === undefined ? reason : `${reason}; last connection error: ${messages.reasonOf(error)}`;
}
