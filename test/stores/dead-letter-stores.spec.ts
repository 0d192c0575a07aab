import { Logger } from '@nestjs/common';
import { MemoryDeadLetters, REPLAY_CLAIM_MS, type DeadLetterStore } from '../../src/core/dead-letter-store';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import type { BreakerStore } from '../../src/stores/breaker-store';
import { SqliteDeadLetters } from '../../src/stores/sqlite-dead-letters';
import { behavesAsDeadLetterStore, letter } from '../support/dead-letter-store-contract';
import { FakeClock, SQLITE_TEST_DRIVERS, useSqliteFile } from '../support/sqlite-fixture';

/** What every store that can tell says of the letters it drops past its capacity (2 here). */
function tellsWhatItDrops(make: (capacity: number) => DeadLetterStore): void {
  it('should tell the policy of each letter it drops past its capacity, and of none before', async () => {
    const store = make(2);
    const dropped: Array<[string, number]> = [];
    store.onDrop!((policy, capacity) => dropped.push([policy, capacity]));

    await store.add(letter('payments', 1));
    await store.add(letter('emails', 2));
    expect(dropped).toEqual([]);
    await store.add(letter('emails', 3));
    await store.add(letter('emails', 4));

    expect(dropped).toEqual([
      ['payments', 2],
      ['emails', 2],
    ]);
  });

  it('should have DeadLetters warn once per policy, not once per dropped letter', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const deadLetters = new DeadLetters({ deadLetters: make(2) } as unknown as BreakerStore);
      for (let n = 1; n <= 50; n++)
        await deadLetters.record(n <= 2 ? 'payments' : 'emails', [n], new Error('down'));

      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        expect.stringMatching(/keeps the newest 2 dead letters: .* one of policy "payments" was dropped/),
        expect.stringMatching(/keeps the newest 2 dead letters: .* one of policy "emails" was dropped/),
      ]);
    } finally {
      warn.mockRestore();
    }
  });
}

describe('MemoryDeadLetters', () => {
  behavesAsDeadLetterStore((capacity) => new MemoryDeadLetters(capacity));
  tellsWhatItDrops((capacity) => new MemoryDeadLetters(capacity));

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
  tellsWhatItDrops((capacity) => new SqliteDeadLetters(file.boot().db, capacity));

  describe('a replay claim', () => {
    const claiming = () => new SqliteDeadLetters(file.boot().db, undefined, clock);

    it('should be held by one replay at a time, and taken again once freed', async () => {
      const store = claiming();
      const { id } = await store.add(letter('payments', 1));

      const free = await store.claim(id);
      expect(free).toEqual(expect.any(Function));
      expect(await store.claim(id)).toBeUndefined();
      await free!();
      expect(await store.claim(id)).toEqual(expect.any(Function));
    });

    it('should expire after 10 minutes, and its late freeing not free the claim that followed', async () => {
      const store = claiming();
      const { id } = await store.add(letter('payments', 1));
      const stale = await store.claim(id);

      clock.advance(REPLAY_CLAIM_MS - 1);
      expect(await store.claim(id)).toBeUndefined();
      clock.advance(1);
      const next = await store.claim(id);
      expect(next).toEqual(expect.any(Function));
      await stale!();
      expect(await store.claim(id)).toBeUndefined();
    });

    it('should be held for one letter only, and never for an id no letter can have', async () => {
      const store = claiming();
      const [a, b] = [await store.add(letter('payments', 1)), await store.add(letter('payments', 2))];

      expect(await store.claim(a.id)).toEqual(expect.any(Function));
      expect(await store.claim(b.id)).toEqual(expect.any(Function));
      expect(await store.claim('../1')).toEqual(expect.any(Function));
    });
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

  it('should add the claims to a file of schema version 3, keeping its letters', async () => {
    const first = file.boot();
    const kept = await first.store.deadLetters.add(letter('payments', 1));
    await first.store.close();
    file.reader().exec('DROP TABLE dead_letter_claims; PRAGMA user_version = 3');

    const second = file.boot();
    expect(await second.store.deadLetters.list()).toEqual([kept]);
    expect(await second.store.deadLetters.claim(kept.id)).toEqual(expect.any(Function));
    expect(await second.store.deadLetters.claim(kept.id)).toBeUndefined();
  });
});
