import { MemoryDeadLetters } from '../../src/core/dead-letter-store';
import { SqliteDeadLetters } from '../../src/stores/sqlite-dead-letters';
import { behavesAsDeadLetterStore, letter } from '../support/dead-letter-store-contract';
import { FakeClock, SQLITE_TEST_DRIVERS, useSqliteFile } from '../support/sqlite-fixture';

describe('MemoryDeadLetters', () => {
  behavesAsDeadLetterStore((capacity) => new MemoryDeadLetters(capacity));

  it('should never give an id a store of an earlier process gave', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_800_000_000_000);
    const earlier = new MemoryDeadLetters();
    const given = [
      (await earlier.add(letter('payments', 1))).id,
      (await earlier.add(letter('payments', 2))).id,
    ];
    now.mockReturnValue(1_800_000_000_500);
    const restarted = new MemoryDeadLetters();
    const next = (await restarted.add(letter('payments', 3))).id;
    now.mockRestore();

    expect(given).not.toContain(next);
    for (const id of given) expect(await restarted.get(id)).toBeUndefined();
  });

  it('should keep 1,000 letters by default', async () => {
    const store = new MemoryDeadLetters();
    for (let n = 1; n <= 1_001; n++) await store.add(letter('payments', n));

    const all = await store.list({ limit: 2_000 });
    expect(all).toHaveLength(1_000);
    expect(all.at(-1)?.args[0]).toBe('order-2');
  });
});

describe.each(SQLITE_TEST_DRIVERS)('SqliteDeadLetters on %s', (driver) => {
  const clock = new FakeClock();
  const file = useSqliteFile(clock, driver);

  behavesAsDeadLetterStore((capacity) => {
    const { db, store } = file.boot();
    return capacity === undefined ? store.deadLetters : new SqliteDeadLetters(db, capacity);
  });

  it('should keep its letters across a restart', async () => {
    const first = file.boot();
    const kept = await first.store.deadLetters.add(letter('payments', 1));
    await first.store.close();

    const second = file.boot();
    expect(await second.store.deadLetters.list()).toEqual([kept]);
  });

  it('should add the table to a file of schema version 2, keeping its breakers', async () => {
    const first = file.boot({ breakers: { payments: {} } });
    await first.registry.get('payments').trip('incident');
    await first.store.close();
    file.reader().exec('DROP TABLE dead_letters; DELETE FROM sqlite_sequence; PRAGMA user_version = 2');

    const second = file.boot({ breakers: { payments: {} } });
    expect(second.registry.get('payments').state).toBe('forced_open');
    expect((await second.store.deadLetters.add(letter('payments', 1))).id).toBe('1');
  });
});
