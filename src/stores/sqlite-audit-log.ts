import { AUDIT_KINDS, auditKindOf, type AuditEntry, type AuditKind, type AuditLog } from '../core/audit-log';
import type { SqliteConnection } from './sqlite-drivers/sqlite-driver';
import type { StoreLogger } from './store-logger';
import * as messages from './store-messages';

/** Rows kept in the table of each kind; older ones of that kind are deleted as new ones arrive. */
const ROWS_KEPT = 100_000;
/** How far a kind may go over {@link ROWS_KEPT} before it is trimmed, so that trimming is rare. */
const ROWS_SLACK = 10_000;
/**
 * Entries of each kind held in memory until they are written. Reached while the store works,
 * they are written at once; while it fails, the oldest of that kind are dropped (and it says so).
 */
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

/** An entry waiting to be written, with the order it was appended in. */
interface Pending {
  readonly order: number;
  readonly entry: AuditEntry;
}

/** What the audit log asks of its store. */
export interface AuditWriter {
  /** A write soon; resolves once it was tried. */
  requestWrite(): Promise<void>;
  /** A write now; false when the store fails. */
  writeNow(): boolean;
}

/**
 * The audit log of the sqlite store: a table in the same file, written in the store's
 * transactions (so an entry and the state it describes are saved together). Manual actions,
 * transitions of named breakers and transitions of per-key breakers are each kept to the
 * newest {@link ROWS_KEPT} rows, so per-key traffic never pushes an operator's action out.
 * Entries wait in memory until the store writes them.
 */
export class SqliteAuditLog implements AuditLog {
  private readonly pending: Record<AuditKind, Pending[]> = {
    manual: [],
    transition: [],
    keyed_transition: [],
  };
  private appended = 0;
  /** Rows of each kind in the table. */
  private rows: number[] = AUDIT_KINDS.map(() => 0);
  private dropping = false;
  private statements!: ReturnType<typeof prepare>;

  constructor(
    db: SqliteConnection,
    private readonly path: string,
    private readonly logger: StoreLogger,
    private readonly writer: AuditWriter,
  ) {
    this.use(db);
  }

  /** Works on `db` from now on: at start-up, and on the new file when the old one was deleted. */
  use(db: SqliteConnection): void {
    this.statements = prepare(db);
    this.rows = AUDIT_KINDS.map(() => 0);
    for (const { kind, n } of this.statements.countByKind.all()) this.rows[kind] = n;
  }

  /**
   * Queues the entry; the promise settles once the store tried to write it. Many entries in one
   * turn are written at once rather than dropped: none is lost while the store works.
   */
  append(entry: AuditEntry): Promise<void> {
    const kind = auditKindOf(entry);
    const queue = this.pending[kind];
    queue.push({ order: this.appended++, entry });
    if (queue.length > PENDING_KEPT && !this.writer.writeNow()) {
      queue.shift();
      if (!this.dropping) this.logger.error(messages.AUDIT_ENTRIES_DROPPED(this.path, kind, PENDING_KEPT));
      this.dropping = true;
    }
    return this.writer.requestWrite();
  }

  /** Newest first, entries not yet written included. */
  list(breaker?: string, limit = 100): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (const { entry } of this.waiting().reverse()) {
      if (out.length >= limit) return out;
      if (breaker === undefined || entry.breaker === breaker) out.push(entry);
    }
    const left = limit - out.length;
    if (left <= 0) return out;
    const { newest, newestOf } = this.statements;
    const rows = breaker === undefined ? newest.all(left) : newestOf.all(breaker, left);
    for (const row of rows) out.push(toEntry(row));
    return out;
  }

  /**
   * Inserts the waiting entries and trims each kind; the store runs it inside its transaction.
   * Returns the commit step, which forgets what was written once the transaction succeeded.
   */
  writePending(): () => void {
    const waiting = this.waiting();
    if (waiting.length === 0) return () => {};
    const written = AUDIT_KINDS.map((kind) => this.pending[kind].length);
    const { insert, trim } = this.statements;
    const rows = [...this.rows];
    for (const { entry: e } of waiting) {
      const kind = AUDIT_KINDS.indexOf(auditKindOf(e));
      insert.run(e.breaker, e.action, e.from, e.to, e.reason, e.actor, e.at, kind);
      rows[kind]++;
    }
    rows.forEach((n, kind) => {
      if (n <= ROWS_KEPT + ROWS_SLACK) return;
      trim.run(kind, kind, ROWS_KEPT - 1);
      rows[kind] = ROWS_KEPT;
    });
    return () => {
      AUDIT_KINDS.forEach((kind, i) => this.pending[kind].splice(0, written[i]));
      this.rows = rows;
      this.dropping = false;
    };
  }

  /** Every waiting entry, oldest first. */
  private waiting(): Pending[] {
    return AUDIT_KINDS.flatMap((kind) => this.pending[kind]).sort((a, b) => a.order - b.order);
  }
}

function prepare(db: SqliteConnection) {
  const columns = 'breaker, action, from_state, to_state, reason, actor, at';
  return {
    insert: db.prepare<[string, string, string, string, string, string | null, number, number]>(
      `INSERT INTO audit_log (${columns}, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    /** Deletes the rows of a kind older than the one at an offset from its newest. */
    trim: db.prepare<[number, number, number]>(
      `DELETE FROM audit_log WHERE kind = ? AND id < (
         SELECT id FROM audit_log WHERE kind = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    ),
    countByKind: db.prepare<[], { kind: number; n: number }>(
      'SELECT kind, COUNT(*) AS n FROM audit_log GROUP BY kind',
    ),
    newest: db.prepare<[number], AuditRow>(`SELECT ${columns} FROM audit_log ORDER BY id DESC LIMIT ?`),
    newestOf: db.prepare<[string, number], AuditRow>(
      `SELECT ${columns} FROM audit_log WHERE breaker = ? ORDER BY id DESC LIMIT ?`,
    ),
  };
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
