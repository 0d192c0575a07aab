/**
 * Where breaker state lives.
 * - `memory`: in the process (the default); nothing survives a restart.
 * - `sqlite`: a SQLite file (WAL mode) that survives restarts; needs the optional peer `better-sqlite3`.
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
    };
