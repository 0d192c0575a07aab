import type { BreakerRegistry } from '../../src/core/registry';
import type { SqliteConnection } from '../../src/stores/sqlite-drivers/sqlite-driver';
import { failing, nextTurn, type FakeClock } from './sqlite-fixture';

/** How many rows the file holds for per-key breakers of `hosts`. */
export const keyedRows = (db: SqliteConnection): number =>
  db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM breaker_state WHERE name LIKE 'hosts#%'`).get()!.n;

/** Opens the per-key breakers of `hosts` for `keys` by one failure each, a turn and a millisecond of `clock` apart. */
export async function openKeys(clock: FakeClock, registry: BreakerRegistry, keys: string[]): Promise<void> {
  for (const key of keys) {
    clock.advance(1);
    await registry
      .get('hosts', key)
      .execute(failing)
      .catch(() => undefined);
    await nextTurn();
  }
}

/** The keys `k<from>` to `k<to - 1>`. */
export const keys = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `k${from + i}`);
