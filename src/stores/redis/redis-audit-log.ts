import type { AuditEntry, AuditLog } from '../../core/audit-log';
import { isPerKeyName } from '../../core/breaker-key';
import type { CircuitState } from '../../core/circuit-state';
import { fieldsOf, newestFirst, type StreamEntry } from './redis-stream';

/** Most entries each audit stream keeps (`XADD … MAXLEN`); the scripts cap theirs the same way. */
export const AUDIT_STREAM_MAX = 10_000;

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
  /** Whether the breaker of that full name shares its state (its transitions are audited by the scripts). */
  isShared(breaker: string): boolean;
  readonly instance: string;
  readonly streams: AuditStreams;
}

/**
 * The fleet's audit log: a Redis stream per kind of entry ({@link AuditStreams}), each capped at
 * {@link AUDIT_STREAM_MAX} entries, each entry with the `instance` that made it. Transitions of
 * shared breakers are added by the script that made them (so a transition several instances
 * raced for is there once); manual actions and the transitions of breakers with `shared: false`
 * are added here.
 */
export class RedisAuditLog implements AuditLog {
  constructor(private readonly redis: AuditCommands) {}

  async append(entry: AuditEntry): Promise<void> {
    const transition = entry.action === 'transition';
    if (transition && this.redis.isShared(entry.breaker)) return;
    const { streams } = this.redis;
    const fields = {
      breaker: entry.breaker,
      action: entry.action,
      from: entry.from,
      to: entry.to,
      reason: entry.reason,
      actor: entry.actor ?? '',
      at: String(entry.at),
      instance: this.redis.instance,
    };
    await this.redis
      .command('audit', [
        'XADD',
        transition ? transitionStream(streams, entry.breaker) : streams.manual,
        'MAXLEN',
        String(AUDIT_STREAM_MAX),
        '*',
        ...Object.entries(fields).flat(),
      ])
      .catch(() => undefined);
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
