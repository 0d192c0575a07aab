import { randomBytes } from 'node:crypto';
import type { AuditEntry, AuditLog } from '../../core/audit-log';
import { isPerKeyName } from '../../core/breaker-key';
import type { CircuitState } from '../../core/circuit-state';
import type { LuaScript } from './lua-script';
import { AUDIT_SCRIPT, AUDIT_STREAM_MAX } from './redis-scripts';
import { fieldsOf, newestFirst, type StreamEntry } from './redis-stream';

export { AUDIT_STREAM_MAX } from './redis-scripts';

/**
 * The audit streams, one per kind of entry, each capped alone so that one kind never pushes
 * another out: however many per-key breakers open, the operators' actions stay.
 */
export interface AuditStreams {
  /** Manual actions, of any breaker. */
  readonly manual: string;
  /** Transitions of named breakers. */
  readonly transitions: string;
  /** Transitions of per-key breakers (`name#key`), as many as the keys requests bring. */
  readonly keyed: string;
}

/** The audit streams under the store's keys (`key(suffix)`). */
export function auditStreams(key: (suffix: string) => string): AuditStreams {
  return { manual: key('audit'), transitions: key('audit:transitions'), keyed: key('audit:keyed') };
}

/** The stream the transitions of breaker `name` go to. */
export function transitionStream(streams: AuditStreams, name: string): string {
  return isPerKeyName(name) ? streams.keyed : streams.transitions;
}

/** How the audit log reaches Redis: through the store, which bounds and counts every command. */
export interface AuditCommands {
  command(operation: string, args: string[]): Promise<unknown>;
  /** Runs a script by its SHA1 (its body when Redis lacks it); its `expired` answer is counted. */
  script(operation: string, script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  /**
   * Whether the store takes the state changes of the breaker of that full name to the fleet (it
   * is attached, and the breaker shares its state): the scripts that apply them audit them.
   */
  coordinates(breaker: string): boolean;
  /** Whether the store is up: the entries its instance writes wait while it is not. */
  isUp(): boolean;
  /** The deadline of a script sent now, on Redis' clock; throws while that clock is unknown. */
  deadline(): string;
  readonly commandTimeout: number;
  readonly instance: string;
  readonly streams: AuditStreams;
}

/** When scripts that may have written an entry ran, if they did (Redis ms). */
export interface SentWindow {
  /** When the first one was sent: its deadline less `commandTimeout`. */
  readonly from: number;
  /** The last one's deadline. */
  readonly to: number;
}

/** A manual action's entry its instance writes, waiting until Redis has it. */
interface Waiting {
  readonly entry: AuditEntry;
  /** The action's id, in its entry: how a script tells whether an earlier one wrote it already. */
  readonly id: string;
  /** When scripts that got no answer in time, so may have written it, were sent. */
  sent: SentWindow | null;
}

/** A new id for a manual action's audit entry. */
export function newActionId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The fleet's audit log: a Redis stream per kind of entry ({@link AuditStreams}), each capped at
 * `AUDIT_STREAM_MAX` entries, each entry with the `instance` that made it. Transitions of shared
 * breakers, manual ones included, are added by the script that made them (so a transition
 * several instances raced for is there once, and one that never applied is not). The other
 * entries are added here, by a script with a deadline like the store's: sent over a link that
 * stalled, it writes nothing once its instance stopped waiting. Transitions of breakers with
 * `shared: false` are written if Redis answers then. Every manual action is written exactly once:
 * one that changed no state, and one that applied to its instance only (made before the store
 * attached, while Redis was down, or whose script got no answer in time or expired) wait here,
 * in order, until Redis answers (see {@link RedisAuditLog.keep}).
 */
export class RedisAuditLog implements AuditLog {
  /** Manual actions' entries this instance writes, oldest first, until Redis has them. */
  private readonly waiting: Waiting[] = [];
  /** The writing of the waiting entries in course, and those asked for after it. */
  private flushing: Promise<void> | undefined;

  constructor(private readonly redis: AuditCommands) {}

  /** Whether entries wait to be written. */
  get waits(): boolean {
    return this.waiting.length > 0;
  }

  async append(entry: AuditEntry): Promise<void> {
    const transition = entry.action === 'transition';
    // A manual action that changed the state is a transition too: the store audits it (see keep).
    if ((transition || entry.from !== entry.to) && this.redis.coordinates(entry.breaker)) return;
    if (!transition) return this.keep(entry, newActionId(), null);
    const { streams } = this.redis;
    try {
      await this.redis.script(
        'audit',
        AUDIT_SCRIPT,
        [transitionStream(streams, entry.breaker)],
        [...this.fieldsOf(entry), '', '', '', this.redis.deadline()],
      );
    } catch {
      // Not written: Redis did not answer in time, or Redis' clock is not known yet.
    }
  }

  /**
   * Writes a manual action's entry (`id` its own) for its instance: written now if Redis
   * answers, else once it does (attached, back), after those waiting already. `sent`: when a
   * script that got no answer in time, and so may have written it, was sent. The newest
   * `AUDIT_STREAM_MAX` wait (the stream would keep no more of them).
   */
  keep(entry: AuditEntry, id: string, sent: SentWindow | null): Promise<void> {
    this.waiting.push({ entry, id, sent });
    if (this.waiting.length > AUDIT_STREAM_MAX) this.waiting.shift();
    return this.flush();
  }

  /** Writes the waiting entries, oldest first, while Redis answers; settles when done or stopped. */
  flush(): Promise<void> {
    const flushing = (this.flushing ?? Promise.resolve()).then(() => this.drain());
    this.flushing = flushing;
    void flushing.finally(() => {
      if (this.flushing === flushing) this.flushing = undefined;
    });
    return flushing;
  }

  /** Newest first: the newest of each stream that may hold the breaker's entries, merged, after those waiting. */
  async list(breaker?: string, limit = 100): Promise<AuditEntry[]> {
    // Taken before the streams are read: one written meanwhile is read there, and listed once.
    const waiting = this.waiting.filter((w) => breaker === undefined || w.entry.breaker === breaker);
    const { streams } = this.redis;
    const read =
      breaker === undefined
        ? [streams.manual, streams.transitions, streams.keyed]
        : [streams.manual, transitionStream(streams, breaker)];
    const keep = breaker === undefined ? undefined : (item: Listed) => item.entry.breaker === breaker;
    const lists = await Promise.all(
      read.map((stream) =>
        newestFirst(
          (args) => this.redis.command('audit', ['XREVRANGE', stream, ...args]) as Promise<StreamEntry[]>,
          limit,
          ([id, fields]): Listed => ({ id: streamIdOf(id), ...toEntry(fields) }),
          keep,
        ),
      ),
    );
    const stored = lists.flat().sort((a, b) => b.id[0] - a.id[0] || b.id[1] - a.id[1]);
    const written = new Set(stored.map((item) => item.actionId));
    return [
      ...waiting
        .filter((w) => !written.has(w.id))
        .reverse()
        .map((w) => ({ ...w.entry, instance: this.redis.instance })),
      ...stored.map((item) => item.entry),
    ].slice(0, limit);
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0 && this.redis.isUp()) {
      const next = this.waiting[0];
      if (!(await this.write(next))) return;
      const at = this.waiting.indexOf(next);
      if (at >= 0) this.waiting.splice(at, 1);
    }
  }

  /**
   * Sends a waiting entry to the manual actions' stream; true once Redis has it. One Redis
   * refused (out of memory, say) waits too: they all go to that stream, so those after it would
   * be refused alike.
   */
  private async write(waiting: Waiting): Promise<boolean> {
    let deadline: number;
    try {
      deadline = Number(this.redis.deadline());
    } catch {
      return false;
    }
    const earlier = waiting.sent;
    // This script may write it too, should its answer not come in time.
    waiting.sent = { from: earlier?.from ?? deadline - this.redis.commandTimeout, to: deadline };
    try {
      const answer = await this.redis.script(
        'audit',
        AUDIT_SCRIPT,
        [this.redis.streams.manual],
        [
          ...this.fieldsOf(waiting.entry),
          waiting.id,
          earlier === null ? '' : String(earlier.from),
          earlier === null ? '' : String(earlier.to),
          String(deadline),
        ],
      );
      return answer === 'ok';
    } catch {
      return false;
    }
  }

  /** The entry's fields as `AUDIT_SCRIPT` takes them, this instance's name last. */
  private fieldsOf(entry: AuditEntry): string[] {
    return [
      entry.breaker,
      entry.action,
      entry.from,
      entry.to,
      entry.reason,
      entry.actor ?? '',
      String(entry.at),
      this.redis.instance,
    ];
  }
}

/** An entry as listed, with its stream id (`ms-seq` on Redis' clock: comparable across streams). */
interface Listed {
  readonly id: readonly [number, number];
  readonly entry: AuditEntry;
  /** A manual action's id, when its entry has one. */
  readonly actionId: string | undefined;
}

function streamIdOf(id: string): [number, number] {
  const [ms, seq] = id.split('-');
  return [Number(ms), Number(seq)];
}

function toEntry(fields: string[]): Omit<Listed, 'id'> {
  const f = fieldsOf(fields);
  return {
    entry: {
      breaker: f.breaker,
      action: f.action as AuditEntry['action'],
      from: f.from as CircuitState,
      to: f.to as CircuitState,
      reason: f.reason,
      actor: f.actor === '' ? null : f.actor,
      at: Number(f.at),
      instance: f.instance,
    },
    actionId: f.id,
  };
}
