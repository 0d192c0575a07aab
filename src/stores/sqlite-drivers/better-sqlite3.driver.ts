import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDriver } from './sqlite-driver';

/** The better-sqlite3 module, an optional peer; its API already is the port's. */
export function betterSqlite3Driver(Database: typeof BetterSqlite3): SqliteDriver {
  return {
    name: 'better-sqlite3',
    open: (path) => {
      const db = new Database(path);
      return {
        exec: (sql) => void db.exec(sql),
        prepare: (sql) => {
          const statement = db.prepare(sql);
          return {
            run: (...params) => void statement.run(...params),
            get: (...params) => statement.get(...params) as never,
            all: (...params) => statement.all(...params) as never,
          };
        },
        close: () => void db.close(),
      };
    },
  };
}
