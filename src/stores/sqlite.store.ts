import type { Breaker } from '../core/breaker';
import { KEY_SEPARATOR, parseBreakerName } from '../core/breaker-key';
import type { BreakerStateRecord, WindowRecord } from '../core/breaker-snapshot';
import { CIRCUIT_STATES, CircuitState } from '../core/circuit-state';
import type { BreakerGroup } from '../core/breaker-group';
import type { BreakerRegistry } from '../core/registry';
import type { BreakerStore } from './breaker-store';
import { SqliteAuditLog } from './sqlite-audit-log';
import { SqliteDeadLetters } from './sqlite-dead-letters';
import { fileIdentity, openSqliteDatabase, transaction, type FileIdentity } from './sqlite-database';
import { loadSqliteDriver } from './sqlite-drivers/load-sqlite-driver';
import { type SqliteConnection, type SqliteDriver } from './sqlite-drivers/sqlite-driver';
import type { StoreStatus } from './store-status';
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

/** The values of a {@link StateRow}, in the order of its columns. */
type StateValues = [string, string, number | null, number, number, number, string, number];

/** A breaker the store follows, and the version of it last written. */
interface Tracked {
  readonly breaker: Breaker;
  written: number;
  /** Whether the file has a row of it. */
  persisted: boolean;
  readonly unsubscribe: () => void;
}

/**
 * The rows of breakers the registry keeps a bounded number of: the per-key breakers of one
 * name, or the members of a group (`http:<origin>`). How many the registry keeps (`live`), and
 * the rows of those it no longer keeps (evicted, or from before a restart), oldest first, each
 * with whether the file has its row yet. Together they stay within `limit`: twice the number
 * the registry keeps.
 */
interface BoundedRows {
  live: number;
  readonly parked: Map<string, boolean>;
  readonly limit: number;
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
 * - Rows of per-key breakers, and what waits to be written, stay within twice
 *   `maxKeysPerBreaker` per name, and rows of a group's breakers (`http:<origin>`) within twice
 *   its bound (`http.maxOrigins`): the breakers the registry keeps, and as many it evicted last,
 *   whose last state is kept (one comes back as it was) until newer ones push it out.
 * - A file deleted or replaced while in use is noticed at the next write: the store logs it,
 *   creates a new file and writes every breaker's state into it.
 *
 * @publicApi
 */
export class SqliteStore implements BreakerStore {
  readonly auditLog: SqliteAuditLog;
  readonly deadLetters: SqliteDeadLetters;
  private readonly path: string;
  private readonly flushInterval: number;
  private readonly driver: SqliteDriver;
  private db: SqliteConnection;
  /** The file `db` is, to notice when the path holds another one (or none); undefined in memory. */
  private file: FileIdentity | undefined;
  /** Whether the file was found deleted or replaced and no new one could be opened yet. */
  private lost = false;
  private statements: ReturnType<typeof prepare>;
  private readonly tracked = new Map<string, Tracked>();
  /** Breakers with a transition not yet written. */
  private readonly urgent = new Set<Tracked>();
  /** Final states of breakers the registry removed, not yet written, by name. */
  private readonly leaving = new Map<string, BreakerStateRecord>();
  /** Rows of per-key breakers to delete, by name. */
  private readonly deleting = new Set<string>();
  /** By the name per-key breakers are kept under, or by the group. */
  private readonly bounded = new Map<string | BreakerGroup, BoundedRows>();
  private registry: BreakerRegistry | undefined;
  private scheduled: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private detach: Array<() => void> = [];
  private attached = false;
  private failing = false;
  private readFailing = false;
  private closed = false;

  /**
   * Opens (or creates) the file at once, through the driver `options.driver` names, and logs
   * which one it is.
   * @param driver replaces `options.driver`; tests hand in their own to reach the connection.
   * @throws when an option is bad, no driver loads, or the file cannot be opened or is damaged.
   */
  constructor(
    options: SqliteStoreOptions,
    private readonly logger: StoreLogger,
    driver?: SqliteDriver,
  ) {
    checkStoreOptions(options);
    this.path = options.path;
    this.flushInterval = flushIntervalOf(options);
    const chosen = driver === undefined ? loadSqliteDriver(options.driver) : { driver };
    this.driver = chosen.driver;
    this.db = openSqliteDatabase(this.path, this.driver);
    logger.log?.(messages.SQLITE_OPENED(this.path, this.driver.name, chosen.passedOver));
    this.file = this.identity();
    this.statements = prepare(this.db);
    this.auditLog = new SqliteAuditLog(this.db, this.path, logger, {
      requestWrite: () => this.requestWrite(),
      writeNow: () => this.write(this.urgent),
    });
    this.deadLetters = new SqliteDeadLetters(this.db);
  }

  /** Restores every breaker of the registry (and each one it creates later) and follows their changes. */
  attach(registry: BreakerRegistry): void {
    if (this.attached || this.closed) throw new Error(messages.STORE_ALREADY_ATTACHED());
    this.attached = true;
    this.registry = registry;
    this.parkStoredKeys();
    for (const breaker of registry.all()) this.track(breaker);
    this.detach.push(
      registry.on('added', (breaker) => this.track(breaker)),
      registry.on('removed', (breaker) => this.untrack(breaker)),
      registry.on('groupDefined', (group) => this.surfaceStoredMembers(group)),
      registry.on('perKeyDeclared', (name) => this.surfaceStoredKeys(name)),
    );
    for (const family of this.bounded.keys())
      if (typeof family === 'string' && registry.declaresPerKey(family)) this.surfaceStoredKeys(family);
    this.surfaceStoredMembers();
    this.timer = setInterval(() => this.write(this.tracked.values()), this.flushInterval);
    // Persistence must never be the reason a process stays alive.
    this.timer.unref();
  }

  /** The driver, and whether writes fail now (breakers then keep working from memory). */
  status(): StoreStatus {
    return { type: 'sqlite', status: this.failing || this.lost ? 'down' : 'up', driver: this.driver.name };
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

  /**
   * Files the rows of per-key breakers from earlier runs as parked, oldest first, and deletes
   * those beyond twice `maxKeysPerBreaker` per name (a file from before the bound may hold any
   * number).
   */
  private parkStoredKeys(): void {
    try {
      for (const { name } of this.statements.keyedRows.all())
        this.boundedRowsOf(name)?.parked.set(name, true);
    } catch (error) {
      this.logger.warn(messages.SQLITE_READ_FAILED(this.path, `${KEY_SEPARATOR}*`, messages.reasonOf(error)));
      return;
    }
    for (const rows of this.bounded.values()) this.bound(rows);
    if (this.deleting.size > 0) this.write([]);
  }

  /**
   * Brings back the per-key breakers of `name` whose rows (still parked) are not CLOSED, so that
   * health and metrics show an open, forced-open or disabled one before a call for its key
   * comes: the most recently saved `maxKeysPerBreaker`, through the registry (which restores
   * each from its row, as for a call). Only for a name the app declares per-key (configured, or
   * a `@CircuitBreaker({ key })`): at attach, or as the explorer declares it after. The rows of
   * another name (a renamed or removed decorator's) stay parked, as closed rows do, until a call
   * needs them.
   */
  private surfaceStoredKeys(name: string): void {
    const registry = this.registry as BreakerRegistry;
    const parked = this.bounded.get(name)?.parked;
    if (parked === undefined || this.closed) return;
    let rows: Array<{ name: string }>;
    try {
      const prefix = `${name}${KEY_SEPARATOR}`;
      rows = this.statements.keyedRowsNotClosed.all(prefix, prefix, CircuitState.CLOSED);
    } catch (error) {
      this.logger.warn(
        messages.SQLITE_READ_FAILED(this.path, `${name}${KEY_SEPARATOR}*`, messages.reasonOf(error)),
      );
      return;
    }
    const names = rows.map((row) => row.name).filter((fullName) => parked.has(fullName));
    // Oldest first, so the newest end up the most recently used.
    for (const fullName of names.slice(-registry.maxKeysPerBreaker)) registry.surface(fullName);
  }

  /**
   * Brings back the members of groups (`http:<origin>`) whose rows are not CLOSED, as
   * `surfaceStoredKeys` does per-key breakers: the most recently saved `max` of each group,
   * through the registry, so that health and metrics show an open or forced-open origin after a
   * restart before a request for it. At attach for the groups defined before (the module's
   * `http`), and for a group defined later (`createResilientFetch()`) as it is defined: `only`.
   * Closed rows stay in the file until a request needs them.
   */
  private surfaceStoredMembers(only?: BreakerGroup): void {
    const registry = this.registry as BreakerRegistry;
    let rows: Array<{ name: string }>;
    try {
      rows = this.statements.namedRowsNotClosed.all(CircuitState.CLOSED);
    } catch (error) {
      this.logger.warn(messages.SQLITE_READ_FAILED(this.path, '(a group’s rows)', messages.reasonOf(error)));
      return;
    }
    const byGroup = new Map<BreakerGroup, string[]>();
    for (const { name } of rows) {
      if (this.tracked.has(name)) continue;
      const group = registry.groupOf(name);
      if (group === undefined || (only !== undefined && group !== only)) continue;
      const names = byGroup.get(group);
      if (names === undefined) byGroup.set(group, [name]);
      else names.push(name);
    }
    for (const [group, names] of byGroup) {
      // Oldest first, so the newest end up the most recently used.
      for (const name of names.slice(-group.options.max)) registry.surface(name);
    }
  }

  /**
   * Files the rows of a group's breakers from earlier runs as parked, oldest first, when the
   * store first meets the group (groups are defined after the store attaches).
   */
  private parkStoredMembers(group: BreakerGroup, rows: BoundedRows): void {
    try {
      for (const { name } of this.statements.names.all()) {
        if (group.options.owns(name) && !this.tracked.has(name)) rows.parked.set(name, true);
      }
    } catch (error) {
      this.logger.warn(messages.SQLITE_READ_FAILED(this.path, '(a group’s rows)', messages.reasonOf(error)));
    }
  }

  private track(breaker: Breaker): void {
    const { persisted, changed } = this.restore(breaker);
    const tracked: Tracked = {
      breaker,
      // A breaker that came back other than its row says (HALF_OPEN reopened) is written back.
      written: changed ? breaker.version - 1 : breaker.version,
      persisted,
      unsubscribe: breaker.on('stateChange', () => {
        this.urgent.add(tracked);
        return this.requestWrite();
      }),
    };
    this.tracked.set(breaker.name, tracked);
    const rows = this.boundedRowsOf(breaker.name);
    if (rows === undefined) return;
    rows.live++;
    rows.parked.delete(breaker.name);
    this.bound(rows);
  }

  /**
   * Brings the breaker back from what its last state was: one not yet written, or its row.
   * Returns whether the file has a row of it, and whether the breaker came back other than that
   * state says (HALF_OPEN reopened), so it is written back. A row that cannot be read is warned about once,
   * not once per breaker, until a read works again.
   */
  private restore(breaker: Breaker): { persisted: boolean; changed: boolean } {
    const { name } = breaker;
    // Coming back before its deletion was written: the row stays.
    const rowKept = this.deleting.delete(name);
    const left = this.leaving.get(name);
    if (left !== undefined) {
      this.leaving.delete(name);
      const changed = breaker.restoreState(left);
      const parked = this.boundedRowsOf(name)?.parked.get(name);
      return { persisted: rowKept || parked === true, changed };
    }
    try {
      const row = this.statements.select.get(name);
      const changed = row !== undefined && breaker.restoreState(toRecord(row));
      this.readFailing = false;
      return { persisted: row !== undefined, changed };
    } catch (error) {
      if (!this.readFailing)
        this.logger.warn(messages.SQLITE_READ_FAILED(this.path, name, messages.reasonOf(error)));
      this.readFailing = true;
      return { persisted: false, changed: false };
    }
  }

  /** A removed breaker's last state is written, so it comes back as it was if it is created again. */
  private untrack(breaker: Breaker): void {
    const tracked = this.tracked.get(breaker.name);
    if (tracked?.breaker !== breaker) return;
    tracked.unsubscribe();
    this.tracked.delete(breaker.name);
    this.urgent.delete(tracked);
    const changed = breaker.version !== tracked.written;
    if (changed) {
      this.leaving.set(breaker.name, breaker.exportState());
      void this.requestWrite();
    }
    const rows = this.boundedRowsOf(breaker.name);
    if (rows === undefined) return;
    rows.live--;
    if (changed || tracked.persisted) rows.parked.set(breaker.name, tracked.persisted);
    this.bound(rows);
  }

  /** Drops the oldest parked rows beyond the limit, and what waits to write them. */
  private bound(rows: BoundedRows): void {
    for (const [name, persisted] of rows.parked) {
      if (rows.live + rows.parked.size <= rows.limit) break;
      rows.parked.delete(name);
      this.leaving.delete(name);
      if (persisted) this.deleting.add(name);
    }
    if (this.deleting.size > 0) void this.requestWrite();
  }

  /** The bounded rows a breaker's row belongs with; undefined for a breaker the registry keeps unbounded. */
  private boundedRowsOf(name: string): BoundedRows | undefined {
    const registry = this.registry as BreakerRegistry;
    const parsed = parseBreakerName(name);
    if (parsed?.key !== undefined) return this.rowsOf(parsed.name, 2 * registry.maxKeysPerBreaker);
    const group = registry.groupOf(name);
    if (group === undefined) return undefined;
    const known = this.bounded.has(group);
    const rows = this.rowsOf(group, 2 * group.options.max);
    if (!known) this.parkStoredMembers(group, rows);
    return rows;
  }

  private rowsOf(family: string | BreakerGroup, limit: number): BoundedRows {
    let rows = this.bounded.get(family);
    if (rows === undefined) this.bounded.set(family, (rows = { live: 0, parked: new Map(), limit }));
    return rows;
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

  /**
   * Writes the changed breakers among `candidates`, removed breakers, deletions and audit
   * entries in one transaction. Returns whether it succeeded.
   */
  private write(candidates: Iterable<Tracked>): boolean {
    if (this.closed) return false;
    try {
      if (this.replaced()) candidates = this.tracked.values();
    } catch (error) {
      return this.failed(error);
    }
    const changed: Array<[Tracked, number]> = [];
    const records = [...this.leaving.values()];
    const deleted = [...this.deleting];
    for (const t of candidates) {
      if (t.breaker.version === t.written) continue;
      changed.push([t, t.breaker.version]);
      records.push(t.breaker.exportState());
    }
    const { upsert, remove } = this.statements;
    try {
      const commitAudit = transaction(this.db, () => {
        for (const record of records) upsert.run(...toRow(record));
        for (const name of deleted) remove.run(name);
        return this.auditLog.writePending();
      });
      commitAudit();
    } catch (error) {
      return this.failed(error);
    }
    for (const [t, version] of changed) {
      t.written = version;
      t.persisted = true;
    }
    this.urgent.clear();
    for (const name of this.leaving.keys()) {
      const parked = this.boundedRowsOf(name)?.parked;
      if (parked?.has(name)) parked.set(name, true);
    }
    this.leaving.clear();
    for (const name of deleted) this.deleting.delete(name);
    if (this.failing) this.logger.warn(messages.SQLITE_WRITE_RECOVERED(this.path));
    this.failing = false;
    return true;
  }

  /** Logs the first failure of an outage; the store keeps working from memory. */
  private failed(error: unknown): false {
    if (!this.failing) {
      this.logger.error(
        messages.SQLITE_WRITE_FAILED(this.path, messages.reasonOf(error), this.flushInterval),
      );
    }
    this.failing = true;
    return false;
  }

  /**
   * Whether the path no longer holds the file the store has open (deleted, or replaced): then
   * says so, closes it and opens a new one there, whose rows are all to be written.
   * @throws when the new file cannot be opened; the next write tries again.
   */
  private replaced(): boolean {
    if (this.file === undefined) return false;
    if (!this.lost) {
      const now = this.identity();
      if (now?.dev === this.file.dev && now.ino === this.file.ino) return false;
      this.logger.error(messages.SQLITE_FILE_REPLACED(this.path));
      this.lost = true;
      try {
        // Closing first removes the old file's write-ahead log, which must not be replayed into the new file.
        this.db.close();
      } catch {
        // Closed underneath already: nothing to release.
      }
    }
    this.db = openSqliteDatabase(this.path, this.driver);
    this.lost = false;
    this.file = this.identity();
    this.statements = prepare(this.db);
    this.auditLog.use(this.db);
    this.deadLetters.use(this.db);
    for (const t of this.tracked.values()) {
      t.written = -1;
      t.persisted = false;
    }
    for (const { parked } of this.bounded.values()) {
      for (const name of parked.keys()) {
        if (this.leaving.has(name)) parked.set(name, false);
        else parked.delete(name);
      }
    }
    this.deleting.clear();
    return true;
  }

  private identity(): FileIdentity | undefined {
    return this.path === ':memory:' ? undefined : fileIdentity(this.path);
  }
}

function prepare(db: SqliteConnection) {
  const columns = 'name, state, opened_at, open_duration, trip_count, rejected, window_json, saved_at';
  return {
    upsert: db.prepare<StateValues>(
      `INSERT INTO breaker_state (${columns})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET state = excluded.state, opened_at = excluded.opened_at,
         open_duration = excluded.open_duration, trip_count = excluded.trip_count, rejected = excluded.rejected,
         window_json = excluded.window_json, saved_at = excluded.saved_at`,
    ),
    select: db.prepare<[string], StateRow>(`SELECT ${columns} FROM breaker_state WHERE name = ?`),
    remove: db.prepare<[string]>('DELETE FROM breaker_state WHERE name = ?'),
    /** Every row's name, least recently saved first. */
    names: db.prepare<[], { name: string }>('SELECT name FROM breaker_state ORDER BY saved_at, name'),
    /** Names of the rows of breakers without a key whose state is not the one given, least recently saved first. */
    namedRowsNotClosed: db.prepare<[string], { name: string }>(
      `SELECT name FROM breaker_state WHERE instr(name, '${KEY_SEPARATOR}') = 0 AND state <> ? ORDER BY saved_at, name`,
    ),
    /** Names of the rows of per-key breakers (`name#key`), least recently saved first. */
    keyedRows: db.prepare<[], { name: string }>(
      `SELECT name FROM breaker_state WHERE instr(name, '${KEY_SEPARATOR}') > 0 ORDER BY saved_at, name`,
    ),
    /**
     * Names of the rows of the per-key breakers of one name (`name#`, given twice) whose state is
     * not the last argument, least recently saved first.
     */
    keyedRowsNotClosed: db.prepare<[string, string, string], { name: string }>(
      `SELECT name FROM breaker_state WHERE substr(name, 1, length(?)) = ? AND state <> ? ORDER BY saved_at, name`,
    ),
  };
}

/** A row's values, in the order of its columns. */
function toRow(record: BreakerStateRecord): StateValues {
  return [
    record.name,
    record.state,
    record.openedAt,
    record.openDuration,
    record.tripCount,
    record.rejected,
    JSON.stringify(record.window),
    record.savedAt,
  ];
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
