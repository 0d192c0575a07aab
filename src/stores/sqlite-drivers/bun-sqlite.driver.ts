import type { SqliteDriver } from './sqlite-driver';

type Value = string | number | bigint | boolean | null | Uint8Array;

/** What the store uses of `bun:sqlite`. */
export interface BunSqliteModule {
  Database: new (path: string) => {
    exec(sql: string): unknown;
    prepare(sql: string): {
      run(...params: Value[]): unknown;
      get(...params: Value[]): unknown;
      all(...params: Value[]): unknown[];
      finalize(): void;
    };
    close(): void;
  };
}

/** The driver built into Bun. */
export function bunSqliteDriver({ Database }: BunSqliteModule): SqliteDriver {
  return {
    name: 'bun:sqlite',
    open: (path) => {
      const db = new Database(path);
      const statements = new Set<ReturnType<typeof db.prepare>>();
      return {
        exec: (sql) => void db.exec(sql),
        prepare: (sql) => {
          const statement = db.prepare(sql);
          statements.add(statement);
          return {
            run: (...params) => void statement.run(...(params as Value[])),
            // bun:sqlite answers null where the other drivers answer undefined.
            get: (...params) => (statement.get(...(params as Value[])) ?? undefined) as never,
            all: (...params) => statement.all(...(params as Value[])) as never,
          };
        },
        close: () => {
          // Bun defers closing while statements live: the write-ahead log would outlive close().
          for (const statement of statements) statement.finalize();
          db.close();
        },
      };
    },
  };
}
