import type { Breaker } from '../core/breaker';
import type { BreakerStateRecord, WindowRecord } from '../core/breaker-snapshot';
import { CIRCUIT_STATES, type CircuitState } from '../core/circuit-state';
import type { BreakerRegistry } from '../core/registry';
import type { BreakerStore } from './breaker-store';
import { SqliteAuditLog } from './sqlite-audit-log';
import {
  loadSqliteDriver,
  openSqliteDatabase,
  type SqliteDatabase,
  type SqliteDriver,
} from './sqlite-database';
import type { StoreLogger } from './store-logger';
import { checkStoreOptions, flushIntervalOf } from './store-option-table';
import type { StoreOptions } from './store-options';
import * as messages from './store-messages';

/** Options of the sqlite store. @publicApi */
export type SqliteStoreOptions = Extract<StoreOptions, { type: 'sqlite' }>;

interface StateRow {
  name: string;
  state: string;
  opened_at: number | null;
  open_duration: number;
  trip_count: number;
  rejected: number;
  window_json: string;
  saved_at: number;
}

/** A breaker the store follows, and the version of it last written. */
interface Tracked {
  readonly breaker: Breaker;
  written: number;
  readonly unsubscribe: () => void;
}

/**
 * Keeps every breaker's state in a SQLite file (WAL mode) so it survives restarts, and the
 * audit log in the same file.
 *
 * - Transitions (and audit entries) are written right after the call that caused them, in one
 *   transaction per event-loop turn; a manual action's promise settles once that write was tried.
 * - Window counts are written every `flushInterval` ms, only for breakers whose `version` moved:
 *   never once per call.
 * - A failing store never fails or slows a protected call: the error is logged once, breakers
 *   keep working from memory, and everything pending is written when the file works again.
 *
 * @publicApi
 */
export class SqliteStore implements BreakerStore {
  readonly auditLog: SqliteAuditLog;
  private readonly path: string;
  private readonly flushInterval: number;
  private readonly db: SqliteDatabase;
  private readonly upsert;
  private readonly select;
  private readonly tracked = new Map<string, Tracked>();
  /** Breakers with a transition not yet written. */
  private readonly urgent = new Set<Tracked>();
  /** Final states of breakers the registry removed, not yet written. */
  private readonly leaving: BreakerStateRecord[] = [];
  private scheduled: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private detach: Array<() => void> = [];
  private attached = false;
  private failing = false;
  private closed = false;

  /**
   * Opens (or creates) the file at once.
   * @param driver loads better-sqlite3; tests hand in their own to reach the connection.
   * @throws when an option is bad, better-sqlite3 is not installed, or the file cannot be opened.
   */
  constructor(
    options: SqliteStoreOptions,
    private readonly logger: StoreLogger,
    driver: () => SqliteDriver = loadSqliteDriver,
  ) {
    checkStoreOptions(options);
    this.path = options.path;
    this.flushInterval = flushIntervalOf(options);
    this.db = openSqliteDatabase(this.path, driver());
    this.upsert = this.db.prepare<StateRow>(
      `INSERT INTO breaker_state (name, state, opened_at, open_duration, trip_count, rejected, window_json, saved_at)
       VALUES (@name, @state, @opened_at, @open_duration, @trip_count, @rejected, @window_json, @saved_at)
       ON CONFLICT (name) DO UPDATE SET state = excluded.state, opened_at = excluded.opened_at,
         open_duration = excluded.open_duration, trip_count = excluded.trip_count, rejected = excluded.rejected,
         window_json = excluded.window_json, saved_at = excluded.saved_at`,
    );
    this.select = this.db.prepare<[string], StateRow>(
      `SELECT name, state, opened_at, open_duration, trip_count, rejected, window_json, saved_at
       FROM breaker_state WHERE name = ?`,
    );
    this.auditLog = new SqliteAuditLog(this.db, this.path, logger, () => this.requestWrite());
  }

  /** Restores every breaker of the registry (and each one it creates later) and follows their changes. */
  attach(registry: BreakerRegistry): void {
    if (this.attached || this.closed) throw new Error(messages.STORE_ALREADY_ATTACHED());
    this.attached = true;
    for (const breaker of registry.all()) this.track(breaker);
    this.detach.push(
      registry.on('added', (breaker) => this.track(breaker)),
      registry.on('removed', (breaker) => this.untrack(breaker)),
    );
    this.timer = setInterval(() => this.write(this.tracked.values()), this.flushInterval);
    // Persistence must never be the reason a process stays alive.
    this.timer.unref();
  }

  /** Writes every change not yet written. */
  async flush(): Promise<void> {
    this.write(this.tracked.values());
  }

  /** Writes what is pending, stops the timer, stops following the breakers and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.write(this.tracked.values());
    this.closed = true;
    clearInterval(this.timer);
    for (const off of this.detach) off();
    for (const t of this.tracked.values()) t.unsubscribe();
    this.tracked.clear();
    this.urgent.clear();
    try {
      this.db.close();
    } catch (error) {
      this.logger.error(messages.SQLITE_CLOSE_FAILED(this.path, messages.reasonOf(error)));
    }
  }

  private track(breaker: Breaker): void {
    const changed = this.restore(breaker);
    const tracked: Tracked = {
      breaker,
      // A breaker that came back other than its row says (HALF_OPEN reopened) is written back.
      written: changed ? breaker.version - 1 : breaker.version,
      unsubscribe: breaker.on('stateChange', () => {
        this.urgent.add(tracked);
        return this.requestWrite();
      }),
    };
    this.tracked.set(breaker.name, tracked);
  }

  /** @returns whether the breaker came back other than its row says. */
  private restore(breaker: Breaker): boolean {
    try {
      const row = this.select.get(breaker.name);
      return row !== undefined && breaker.restoreState(toRecord(row));
    } catch (error) {
      this.logger.warn(messages.SQLITE_READ_FAILED(this.path, breaker.name, messages.reasonOf(error)));
      return false;
    }
  }

  /** A removed breaker's last state is written, so it comes back as it was if it is created again after a restart. */
  private untrack(breaker: Breaker): void {
    const tracked = this.tracked.get(breaker.name);
    if (tracked?.breaker !== breaker) return;
    tracked.unsubscribe();
    this.tracked.delete(breaker.name);
    this.urgent.delete(tracked);
    if (breaker.version !== tracked.written) {
      this.leaving.push(breaker.exportState());
      void this.requestWrite();
    }
  }

  /** One write for everything that happens in this turn of the event loop, after the calls that caused it. */
  private requestWrite(): Promise<void> {
    this.scheduled ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.scheduled = null;
        this.write(this.urgent);
        resolve();
      }),
    );
    return this.scheduled;
  }

  /** Writes the changed breakers among `candidates`, removed breakers and audit entries in one transaction. */
  private write(candidates: Iterable<Tracked>): void {
    if (this.closed) return;
    const changed: Array<[Tracked, number]> = [];
    const records = [...this.leaving];
    const left = records.length;
    for (const t of candidates) {
      if (t.breaker.version === t.written) continue;
      changed.push([t, t.breaker.version]);
      records.push(t.breaker.exportState());
    }
    try {
      const commitAudit = this.db.transaction(() => {
        for (const record of records) this.upsert.run(toRow(record));
        return this.auditLog.writePending();
      })();
      commitAudit();
    } catch (error) {
      if (!this.failing) {
        this.logger.error(
          messages.SQLITE_WRITE_FAILED(this.path, messages.reasonOf(error), this.flushInterval),
        );
      }
      this.failing = true;
      return;
    }
    for (const [t, version] of changed) t.written = version;
    this.urgent.clear();
    this.leaving.splice(0, left);
    if (this.failing) this.logger.warn(messages.SQLITE_WRITE_RECOVERED(this.path));
    this.failing = false;
  }
}

function toRow(record: BreakerStateRecord): StateRow {
  return {
    name: record.name,
    state: record.state,
    opened_at: record.openedAt,
    open_duration: record.openDuration,
    trip_count: record.tripCount,
    rejected: record.rejected,
    window_json: JSON.stringify(record.window),
    saved_at: record.savedAt,
  };
}

/** @throws when the row cannot be a breaker's state (written by hand, or by something else). */
function toRecord(row: StateRow): BreakerStateRecord {
  if (!(CIRCUIT_STATES as readonly string[]).includes(row.state))
    throw new Error(`unknown state "${row.state}"`);
  const window = JSON.parse(row.window_json) as WindowRecord;
  const series =
    window?.type === 'time' ? window.buckets : window?.type === 'count' ? window.outcomes : undefined;
  if (!Array.isArray(series)) throw new Error('window_json is not a time or count window');
  return {
    name: row.name,
    state: row.state as CircuitState,
    openedAt: row.opened_at,
    openDuration: row.open_duration,
    tripCount: row.trip_count,
    rejected: row.rejected,
    window,
    savedAt: row.saved_at,
  };
}
