import type { SqliteConnection, SqliteDriver, SqliteDriverName } from './sqlite-driver';

/** A value SQLite binds: every driver takes these. */
type Value = string | number | bigint | null | Uint8Array;

/**
 * A database as each of the three drivers has it: `exec`, `prepare` (statements with `run`,
 * `get`, `all`, and in Bun `finalize`) and `close`. Their APIs differ only in details, which
 * {@link adaptDriver} smooths over.
 */
export interface DriverDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): {
    run(...params: Value[]): unknown;
    get(...params: Value[]): unknown;
    all(...params: Value[]): unknown[];
    finalize?(): void;
  };
  close(): void;
}

/** The port over a driver whose databases `open` creates. */
export function adaptDriver(name: SqliteDriverName, open: (path: string) => DriverDatabase): SqliteDriver {
  return {
    name,
    open: (path) => {
      const db = open(path);
      const statements: Array<ReturnType<DriverDatabase['prepare']>> = [];
      const connection: SqliteConnection = {
        exec: (sql) => void db.exec(sql),
        prepare: (sql) => {
          const statement = db.prepare(sql);
          statements.push(statement);
          return {
            run: (...params) => void statement.run(...(params as Value[])),
            // bun:sqlite answers null where the others answer undefined.
            get: (...params) => (statement.get(...(params as Value[])) ?? undefined) as never,
            all: (...params) => statement.all(...(params as Value[])) as never,
          };
        },
        close: () => {
          // Bun defers closing while statements live, and its write-ahead log would outlive close().
          for (const statement of statements) statement.finalize?.();
          db.close();
        },
      };
      return connection;
    },
  };
}
