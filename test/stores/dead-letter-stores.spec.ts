import {
  MemoryDeadLetters,
  type DeadLetterStore,
  type NewDeadLetter,
} from '../../src/core/dead-letter-store';
import { SqliteDeadLetters } from '../../src/stores/sqlite-dead-letters';
import { FakeClock, SQLITE_TEST_DRIVERS, useSqliteFile } from '../support/sqlite-fixture';

const letter = (policy: string, n: number): NewDeadLetter => ({
  policy,
  args: [`order-${n}`, { amount: n, tags: ['a', null] }],
  error: { name: 'Error', message: `payment ${n} failed`, code: 'ECONNRESET' },
  attempts: 3,
  at: 1_700_000_000_000 + n,
});

/** What every dead-letter store does, whatever keeps it. */
function behavesAsDeadLetterStore(make: (capacity?: number) => DeadLetterStore): void {
  it('should keep a letter and give it an id, and list the newest first', async () => {
    const store = make();
    const first = await store.add(letter('payments', 1));
    const second = await store.add(letter('emails', 2));

    expect(first).toEqual({ id: expect.any(String), ...letter('payments', 1) });
    expect(second.id).not.toBe(first.id);
    expect(await store.list()).toEqual([second, first]);
    expect(await store.list({ policy: 'payments' })).toEqual([first]);
    expect(await store.list({ limit: 1 })).toEqual([second]);
    expect(await store.get(first.id)).toEqual(first);
  });

  it('should remove one letter, and never give its id again', async () => {
    const store = make();
    const first = await store.add(letter('payments', 1));

    expect(await store.remove(first.id)).toBe(true);
    expect(await store.remove(first.id)).toBe(false);
    expect(await store.get(first.id)).toBeUndefined();
    expect((await store.add(letter('payments', 2))).id).not.toBe(first.id);
  });

  it('should answer undefined for an id it never gave', async () => {
    const store = make();
    await store.add(letter('payments', 1));

    for (const id of ['999', 'abc', '', '1; DROP TABLE dead_letters', '-1', '1.5'])
      expect(await store.get(id)).toBeUndefined();
  });

  it('should purge every letter, or those of one policy, and say how many', async () => {
    const store = make();
    for (let n = 1; n <= 3; n++) await store.add(letter('payments', n));
    await store.add(letter('emails', 4));

    expect(await store.purge('payments')).toBe(3);
    expect((await store.list()).map((l) => l.policy)).toEqual(['emails']);
    expect(await store.purge()).toBe(1);
    expect(await store.list()).toEqual([]);
  });

  it('should keep only the newest letters past its capacity', async () => {
    const store = make(3);
    for (let n = 1; n <= 5; n++) await store.add(letter('payments', n));

    expect((await store.list()).map((l) => l.args[0])).toEqual(['order-5', 'order-4', 'order-3']);
  });

  it('should hand out copies: changing one changes nothing kept', async () => {
    const store = make();
    const kept = await store.add(letter('payments', 1));
    (kept.args[1] as { amount: number }).amount = 0;

    expect((await store.get(kept.id))?.args[1]).toEqual({ amount: 1, tags: ['a', null] });
  });
}

describe('MemoryDeadLetters', () => {
  behavesAsDeadLetterStore((capacity) => new MemoryDeadLetters(capacity));

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
