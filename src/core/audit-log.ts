import type { CircuitState } from './circuit-state';
import type { ControlAction } from './breaker-events';

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
}

/** Where audit entries go. @publicApi */
export interface AuditLog {
  append(entry: AuditEntry): void | Promise<void>;
  /** Newest first. */
  list(breaker?: string, limit?: number): AuditEntry[] | Promise<AuditEntry[]>;
}

/**
 * The default audit log: a bounded ring in memory, newest entries kept.
 * @publicApi
 */
export class MemoryAuditLog implements AuditLog {
  private readonly entries: AuditEntry[] = [];
  private next = 0;

  constructor(private readonly capacity = 1000) {}

  append(entry: AuditEntry): void {
    if (this.entries.length < this.capacity) this.entries.push(entry);
    else this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  list(breaker?: string, limit = 100): AuditEntry[] {
    const out: AuditEntry[] = [];
    const n = this.entries.length;
    for (let i = 1; i <= n && out.length < limit; i++) {
      const entry = this.entries[(this.next - i + n) % n];
      if (breaker === undefined || entry.breaker === breaker) out.push(entry);
    }
    return out;
  }
}
