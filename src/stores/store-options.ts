import type { RedisClient } from './redis/redis-client';
import type { SqliteDriverOption } from './sqlite-drivers/sqlite-driver';

/**
 * Where breaker state lives.
 * - `memory`: in the process (the default); nothing survives a restart.
 * - `sqlite`: a SQLite file (WAL mode) that survives restarts, through the optional peer
 *   `better-sqlite3` or the runtime's own driver (`node:sqlite`, `bun:sqlite`).
 * - `redis`: shared by every instance of a service (a fleet): openings, manual actions,
 *   HALF_OPEN trials and the audit log; windows still count in process. See `docs/stores.md`.
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
    }
  | {
      type: 'redis';
      /** A Redis URL; the store builds its client with the optional peer `redis` (node-redis >= 5). */
      url?: string;
      /**
       * Or the app's own node-redis (>= 5) or ioredis (>= 5) client; the store duplicates it
       * for pub/sub and never closes it. Exactly one of `url` and `client`.
       */
      client?: RedisClient;
      /** Prefix of every key and channel the store uses. @default 'nest-resilience:' */
      keyPrefix?: string;
      /** How this instance is named in the audit log and fleet view. @default `${hostname}:${pid}:${4 random hex}` */
      instanceId?: string;
      /** Longest wait on any Redis command, in ms; past it the breaker decides locally. @default 250 */
      commandTimeout?: number;
      /** How often this instance reports its breakers for the fleet view, in ms. @default 5_000 */
      heartbeat?: number;
    };
