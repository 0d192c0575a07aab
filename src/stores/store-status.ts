import type { SqliteDriverName } from './sqlite-drivers/sqlite-driver';

/**
 * What a store reports of itself in the health details (`store`).
 * @publicApi
 */
export type StoreStatus =
  | { type: 'memory'; status: 'up' }
  | {
      type: 'sqlite';
      /** `down` while writes fail: breakers keep working from memory, and catch up once it works. */
      status: 'up' | 'down';
      /** The SQLite driver the store works through. */
      driver: SqliteDriverName;
    }
  | {
      type: 'redis';
      /** `down` while Redis does not answer within `commandTimeout`: breakers decide locally meanwhile. */
      status: 'up' | 'down';
    };
