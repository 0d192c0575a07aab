import type { SqliteDriverName } from './sqlite-drivers/sqlite-driver';

/**
 * What a store reports of itself in the health details (`store`).
 * @publicApi
 */
export type StoreStatus =
  | { type: 'memory'; status: 'ok' }
  | {
      type: 'sqlite';
      /** `failing` while writes fail: breakers keep working from memory, and catch up once it works. */
      status: 'ok' | 'failing';
      /** The SQLite driver the store works through. */
      driver: SqliteDriverName;
    };
