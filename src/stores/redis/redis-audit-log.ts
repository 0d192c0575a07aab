import type { AuditEntry, AuditLog } from '../../core/audit-log';
import { isPerKeyName } from '../../core/breaker-key';
import type { CircuitState } from '../../core/circuit-state';
import type { LuaScript } from './lua-script';
import { AUDIT_SCRIPT } from './redis-scripts';
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
  /** Whether the breaker of that full name shares its state (its transitions are audited by the scripts). */
  isShared(breaker: string): boolean;
  /** The deadline of a script sent now, on Redis' clock; throws while that clock is unknown. */
  deadline(): string;
  readonly instance: string;
  readonly streams: AuditStreams;
}

/**
 * The fleet's audit log: a Redis stream per kind of entry ({@link AuditStreams}), each capped at
 * `AUDIT_STREAM_MAX` entries, each entry with the `instance` that made it. Transitions of shared
 * breakers, manual ones included, are added by the script that made them (so a transition
 * several instances raced for is there once, and one that never applied is not); the other
 * entries (a manual action that changed no state, the transitions of breakers with
 * `shared: false`) are added here, by a script with a deadline like the store's: sent over a link
 * that stalled, it writes nothing once its instance stopped waiting.
 */
export class RedisAuditLog implements AuditLog {
  constructor(private readonly redis: AuditCommands) {}

  async append(entry: AuditEntry): Promise<void> {
    const transition = entry.action === 'transition';
    // A manual action that changed the state is a transition too: its script audits it.
    if ((transition || entry.from !== entry.to) && this.redis.isShared(entry.breaker)) return;
    const { streams } = this.redis;
    try {
      await this.redis.script(
        'audit',
        AUDIT_SCRIPT,
        [transition ? transitionStream(streams, entry.breaker) : streams.manual],
        [
          entry.breaker,
          entry.action,
          entry.from,
          entry.to,
          entry.reason,
          entry.actor ?? '',
          String(entry.at),
          this.redis.instance,
          this.redis.deadline(),
        ],
      );
    } catch {
      // Not written: Redis did not answer in time, or Redis' clock is not known yet.
    }
  }

  /** Newest first: the newest of each stream that may hold the breaker's entries, merged. */
  async list(breaker?: string, limit = 100): Promise<AuditEntry[]> {
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
          ([id, fields]): Listed => ({ id: streamIdOf(id), entry: toEntry(fields) }),
          keep,
        ),
      ),
    );
    return lists
      .flat()
      .sort((a, b) => b.id[0] - a.id[0] || b.id[1] - a.id[1])
      .slice(0, limit)
      .map((item) => item.entry);
  }
}

/** An entry as listed, with its stream id (`ms-seq` on Redis' clock: comparable across streams). */
interface Listed {
  readonly id: readonly [number, number];
  readonly entry: AuditEntry;
}

function streamIdOf(id: string): [number, number] {
  const [ms, seq] = id.split('-');
  return [Number(ms), Number(seq)];
}

function toEntry(fields: string[]): AuditEntry {
  const f = fieldsOf(fields);
  return {
    breaker: f.breaker,
    action: f.action as AuditEntry['action'],
    from: f.from as CircuitState,
    to: f.to as CircuitState,
    reason: f.reason,
    actor: f.actor === '' ? null : f.actor,
    at: Number(f.at),
    instance: f.instance,
  };
}
