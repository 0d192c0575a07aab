import type { SqliteDriverOption } from './sqlite-drivers/sqlite-driver';

/**
 * Where breaker state lives.
 * - `memory`: in the process (the default); nothing survives a restart.
 * - `sqlite`: a SQLite file (WAL mode) that survives restarts, through the optional peer
 *   `better-sqlite3` or the runtime's own driver (`node:sqlite`, `bun:sqlite`).
 * @publicApi
 */
export type StoreOptions =
  | { type: 'memory' }
  | {
      type: 'sqlite';
      /** Path of the database file; its folder is created when missing. */
      path: string;
      /** How often changed window counts are written, in ms. @default 5_000 */
      flushInterval?: number;
      /**
       * The SQLite driver. `auto`: better-sqlite3 when it is installed and loads, otherwise the
       * runtime's own (`bun:sqlite` on Bun, `node:sqlite` on Node >= 22.13 and Deno).
       * @default 'auto'
       */
      driver?: SqliteDriverOption;
    };
