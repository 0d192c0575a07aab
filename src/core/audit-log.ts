import { isPerKeyName } from './breaker-key';
import type { ControlAction } from './breaker-events';
import type { CircuitState } from './circuit-state';

/** One line of the audit log. @publicApi */
export interface AuditEntry {
  breaker: string;
  /** `transition` for a change the breaker made by itself, else the manual action. */
  action: 'transition' | ControlAction;
  from: CircuitState;
  to: CircuitState;
  reason: string;
  actor: string | null;
  at: number;
  /** The instance that made it, with a store shared by a fleet (redis). */
  instance?: string;
}

/** Where audit entries go. @publicApi */
export interface AuditLog {
  append(entry: AuditEntry): void | Promise<void>;
  /** Newest first. */
  list(breaker?: string, limit?: number): AuditEntry[] | Promise<AuditEntry[]>;
}

/**
 * The three kinds of audit entry, each kept apart with its own bound, so that one kind never
 * pushes another out: manual actions of operators, transitions of named breakers, and
 * transitions of per-key breakers (whose number follows request input).
 */
export const AUDIT_KINDS = ['manual', 'transition', 'keyed_transition'] as const;

export type AuditKind = (typeof AUDIT_KINDS)[number];

export function auditKindOf(entry: AuditEntry): AuditKind {
  if (entry.action !== 'transition') return 'manual';
  return isPerKeyName(entry.breaker) ? 'keyed_transition' : 'transition';
}

/**
 * The default audit log: in memory, the newest entries kept, up to `capacity` of each kind
 * (manual actions, transitions of named breakers, transitions of per-key breakers), so no
 * amount of per-key traffic pushes an operator's action out.
 * @publicApi
 */
export class MemoryAuditLog implements AuditLog {
  private readonly rings: Record<AuditKind, Ring>;
  private appended = 0;

  /** @param capacity entries kept of each kind. */
  constructor(capacity = 1000) {
    this.rings = {
      manual: new Ring(capacity),
      transition: new Ring(capacity),
      keyed_transition: new Ring(capacity),
    };
  }

  append(entry: AuditEntry): void {
    this.rings[auditKindOf(entry)].push(entry, this.appended++);
  }

  list(breaker?: string, limit = 100): AuditEntry[] {
    const found: Array<[number, AuditEntry]> = [];
    for (const kind of AUDIT_KINDS) this.rings[kind].newest(breaker, limit, found);
    return found
      .sort(([a], [b]) => b - a)
      .slice(0, limit)
      .map(([, entry]) => entry);
  }
}

/** A bounded ring of entries, each with the order it was appended in. */
class Ring {
  private readonly entries: AuditEntry[] = [];
  private readonly order: number[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(entry: AuditEntry, order: number): void {
    this.entries[this.next] = entry;
    this.order[this.next] = order;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Appends to `out` up to `limit` entries of `breaker` (or of every breaker), newest first. */
  newest(breaker: string | undefined, limit: number, out: Array<[number, AuditEntry]>): void {
    const n = this.entries.length;
    let taken = 0;
    for (let i = 1; i <= n && taken < limit; i++) {
      const at = (this.next - i + n) % n;
      const entry = this.entries[at];
      if (breaker !== undefined && entry.breaker !== breaker) continue;
      out.push([this.order[at], entry]);
      taken++;
    }
  }
}
