import type { SqliteDriver } from './sqlite-driver';

type Value = string | number | bigint | null | Uint8Array;

/** What the store uses of `node:sqlite` (Node >= 22.13, Deno 2.2+); @types/node 20 does not declare it. */
export interface NodeSqliteModule {
  DatabaseSync: new (path: string) => {
    exec(sql: string): void;
    prepare(sql: string): {
      run(...params: Value[]): unknown;
      get(...params: Value[]): unknown;
      all(...params: Value[]): unknown[];
    };
    close(): void;
  };
}

/** The driver built into Node and Deno. */
export function nodeSqliteDriver({ DatabaseSync }: NodeSqliteModule): SqliteDriver {
  return {
    name: 'node:sqlite',
    open: (path) => {
      const db = new DatabaseSync(path);
      return {
        exec: (sql) => db.exec(sql),
        prepare: (sql) => {
          const statement = db.prepare(sql);
          return {
            run: (...params) => void statement.run(...(params as Value[])),
            get: (...params) => statement.get(...(params as Value[])) as never,
            all: (...params) => statement.all(...(params as Value[])) as never,
          };
        },
        close: () => db.close(),
      };
    },
  };
}
