import type { AuditEntry, AuditLog } from '../../core/audit-log';
import type { CircuitState } from '../../core/circuit-state';
import { fieldsOf, newestFirst, type StreamEntry } from './redis-stream';

/** Most entries the audit stream keeps (`XADD … MAXLEN`); the scripts cap it the same way. */
export const AUDIT_STREAM_MAX = 10_000;

/** How the audit log reaches Redis: through the store, which bounds and counts every command. */
export interface AuditCommands {
  command(operation: string, args: string[]): Promise<unknown>;
  /** Whether the breaker of that full name shares its state (its transitions are audited by the scripts). */
  isShared(breaker: string): boolean;
  readonly instance: string;
  readonly key: string;
}

/**
 * The fleet's audit log: one Redis stream capped at {@link AUDIT_STREAM_MAX} entries, each
 * with the `instance` that made it. Transitions of shared breakers are added by the script
 * that made them (so a transition several instances raced for is there once); manual actions
 * and the transitions of breakers with `shared: false` are added here.
 */
export class RedisAuditLog implements AuditLog {
  constructor(private readonly redis: AuditCommands) {}

  async append(entry: AuditEntry): Promise<void> {
    if (entry.action === 'transition' && this.redis.isShared(entry.breaker)) return;
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
        this.redis.key,
        'MAXLEN',
        String(AUDIT_STREAM_MAX),
        '*',
        ...Object.entries(fields).flat(),
      ])
      .catch(() => undefined);
  }

  /** Newest first. */
  async list(breaker?: string, limit = 100): Promise<AuditEntry[]> {
    const range = (args: string[]) =>
      this.redis.command('audit', ['XREVRANGE', this.redis.key, ...args]) as Promise<StreamEntry[]>;
    return newestFirst(
      range,
      limit,
      ([, fields]) => toEntry(fields),
      breaker === undefined ? undefined : (entry) => entry.breaker === breaker,
    );
  }
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
