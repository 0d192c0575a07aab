/** The SQLite drivers the sqlite store can run on. @publicApi */
export const SQLITE_DRIVERS = ['better-sqlite3', 'node:sqlite', 'bun:sqlite'] as const;

/**
 * A SQLite driver: `better-sqlite3` (an optional peer, a native build), or the one built into
 * the runtime (`node:sqlite` in Node >= 22.13 and Deno, `bun:sqlite` in Bun).
 * @publicApi
 */
export type SqliteDriverName = (typeof SQLITE_DRIVERS)[number];

/**
 * `store.driver`: a driver by name, or `auto`: better-sqlite3 when it is installed and loads,
 * otherwise the runtime's own.
 * @publicApi
 */
export type SqliteDriverOption = 'auto' | SqliteDriverName;

/** Every value `store.driver` takes. */
export const SQLITE_DRIVER_OPTIONS: readonly SqliteDriverOption[] = ['auto', ...SQLITE_DRIVERS];

/** A prepared statement; parameters are positional (`?`), values strings, numbers or null. */
export interface SqliteStatement<P extends unknown[] = [], R = unknown> {
  run(...params: P): void;
  /** The first row, or undefined when there is none. */
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/** An open database: the little the sqlite store asks of any driver. */
export interface SqliteConnection {
  /** Runs one or more statements that return no rows. */
  exec(sql: string): void;
  prepare<P extends unknown[] = [], R = unknown>(sql: string): SqliteStatement<P, R>;
  /** Releases the file (and removes its write-ahead log, as the last connection to it). */
  close(): void;
}

/**
 * The port under the sqlite store: one adapter per driver, so that the schema, WAL, integrity
 * checks and recovery are written once, above it.
 */
export interface SqliteDriver {
  readonly name: SqliteDriverName;
  /** Opens the file read-write, creating it when missing (`:memory:` for a private one). */
  open(path: string): SqliteConnection;
}
