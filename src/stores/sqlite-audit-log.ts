import type { AuditEntry, AuditLog } from '../core/audit-log';
import type { SqliteDatabase } from './sqlite-database';
import type { StoreLogger } from './store-logger';
import * as messages from './store-messages';

/** Rows kept in the table; older ones are deleted as new ones arrive. */
const ROWS_KEPT = 100_000;
/** Entries held in memory while the file cannot be written; beyond it the oldest are dropped. */
const PENDING_KEPT = 10_000;

interface AuditRow {
  breaker: string;
  action: AuditEntry['action'];
  from_state: AuditEntry['from'];
  to_state: AuditEntry['to'];
  reason: string;
  actor: string | null;
  at: number;
}

/**
 * The audit log of the sqlite store: a table in the same file, written in the store's
 * transactions (so an entry and the state it describes are saved together), newest
 * {@link ROWS_KEPT} rows kept. Entries wait in memory until the store writes them.
 */
export class SqliteAuditLog implements AuditLog {
  private pending: AuditEntry[] = [];
  private dropping = false;
  private readonly insert;
  private readonly prune;
  private readonly newest;
  private readonly newestOf;

  constructor(
    db: SqliteDatabase,
    private readonly path: string,
    private readonly logger: StoreLogger,
    /** Asks the store for a write soon; resolves once it was tried. */
    private readonly requestWrite: () => Promise<void>,
  ) {
    this.insert = db.prepare<[string, string, string, string, string, string | null, number]>(
      'INSERT INTO audit_log (breaker, action, from_state, to_state, reason, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.prune = db.prepare<[number]>(
      'DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - ?',
    );
    const columns = 'breaker, action, from_state, to_state, reason, actor, at';
    this.newest = db.prepare<[number], AuditRow>(`SELECT ${columns} FROM audit_log ORDER BY id DESC LIMIT ?`);
    this.newestOf = db.prepare<[string, number], AuditRow>(
      `SELECT ${columns} FROM audit_log WHERE breaker = ? ORDER BY id DESC LIMIT ?`,
    );
  }

  /** Queues the entry; the promise settles once the store tried to write it. */
  append(entry: AuditEntry): Promise<void> {
    this.pending.push(entry);
    if (this.pending.length > PENDING_KEPT) {
      this.pending.shift();
      if (!this.dropping) this.logger.error(messages.AUDIT_ENTRIES_DROPPED(this.path, PENDING_KEPT));
      this.dropping = true;
    }
    return this.requestWrite();
  }

  /** Newest first, entries not yet written included. */
  list(breaker?: string, limit = 100): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (let i = this.pending.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.pending[i];
      if (breaker === undefined || entry.breaker === breaker) out.push(entry);
    }
    const left = limit - out.length;
    if (left <= 0) return out;
    const rows = breaker === undefined ? this.newest.all(left) : this.newestOf.all(breaker, left);
    for (const row of rows) out.push(toEntry(row));
    return out;
  }

  /**
   * Inserts the waiting entries and trims the table; the store runs it inside its transaction.
   * Returns the commit step, which forgets what was written once the transaction succeeded.
   */
  writePending(): () => void {
    const count = this.pending.length;
    if (count === 0) return () => {};
    for (const e of this.pending) this.insert.run(e.breaker, e.action, e.from, e.to, e.reason, e.actor, e.at);
    this.prune.run(ROWS_KEPT);
    return () => {
      this.pending.splice(0, count);
      this.dropping = false;
    };
  }
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    breaker: row.breaker,
    action: row.action,
    from: row.from_state,
    to: row.to_state,
    reason: row.reason,
    actor: row.actor,
    at: row.at,
  };
}
