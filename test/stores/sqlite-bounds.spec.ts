import { CircuitState } from '../../src/core/circuit-state';
import { originBreakersOf } from '../../src/http/origin-breakers';
import type { SqliteConnection } from '../../src/stores/sqlite-drivers/sqlite-driver';
import {
  type Booted,
  FakeClock,
  SQLITE_TEST_DRIVERS,
  countStateWrites,
  failing,
  nextTurn,
  useSqliteFile,
} from '../support/sqlite-fixture';
import { keyedRows, keys, openKeys } from '../support/sqlite-per-key-rows';

describe.each(SQLITE_TEST_DRIVERS)('SqliteStore bounds on per-key breakers on %s', (driver) => {
  const clock = new FakeClock();
  const file = useSqliteFile(clock, driver);
  const breakers = { hosts: { failureThreshold: 1, openDuration: 60_000 }, payments: {} };

  it('keeps at most twice maxKeysPerBreaker rows per name however many keys come and go: the kept ones and the last evicted', async () => {
    const { registry, store } = file.boot({ breakers, maxKeysPerBreaker: 20 });

    await openKeys(clock, registry, keys(0, 500));
    await store.flush();

    const reader = file.reader();
    expect(keyedRows(reader)).toBe(40);
    await store.close();
    const next = file.boot({ breakers, maxKeysPerBreaker: 20 });
    expect(next.registry.get('hosts', 'k499').state).toBe(CircuitState.OPEN);
    expect(next.registry.get('hosts', 'k460').state).toBe(CircuitState.OPEN);
    expect(next.registry.get('hosts', 'k459').state).toBe(CircuitState.CLOSED);
  });

  it('brings an evicted open per-key breaker back open while its row is kept', async () => {
    const { registry } = file.boot({ breakers, maxKeysPerBreaker: 5 });
    await openKeys(clock, registry, ['victim', ...keys(0, 5)]);
    expect(registry.has('hosts', 'victim')).toBe(false);

    expect(registry.get('hosts', 'victim').state).toBe(CircuitState.OPEN);
  });

  it('trims a file from before the bound to the newest rows, twice maxKeysPerBreaker per name, at start-up', async () => {
    const first = file.boot({ breakers, maxKeysPerBreaker: 1_000 });
    await openKeys(clock, first.registry, keys(0, 300));
    await first.store.close();

    const { registry } = file.boot({ breakers, maxKeysPerBreaker: 10 });

    expect(keyedRows(file.reader())).toBe(20);
    expect(registry.get('hosts', 'k299').state).toBe(CircuitState.OPEN);
    expect(registry.get('hosts', 'k280').state).toBe(CircuitState.OPEN);
    expect(registry.get('hosts', 'k279').state).toBe(CircuitState.CLOSED);
  });

  it('holds no more than twice maxKeysPerBreaker states of evicted breakers while writes fail, and writes only those on recovery', async () => {
    const { registry, store, logger } = file.boot({ breakers, maxKeysPerBreaker: 20 });
    const reader = file.reader();
    const writes = countStateWrites(reader);
    reader.exec('BEGIN IMMEDIATE');
    await openKeys(clock, registry, keys(0, 2_000));
    expect(logger.error).toHaveBeenCalledTimes(1);

    reader.exec('COMMIT');
    await store.flush();

    expect(writes()).toBeLessThanOrEqual(2 * 20 + 2);
    expect(keyedRows(reader)).toBe(40);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/writes succeed again/));
  });

  it('keeps the rows of named breakers whatever per-key breakers do', async () => {
    const { registry, store } = file.boot({ breakers, maxKeysPerBreaker: 3 });
    await registry.get('payments').trip('incident', 'alice');

    await openKeys(clock, registry, keys(0, 50));
    await store.close();

    expect(file.boot({ breakers }).registry.get('payments').state).toBe(CircuitState.FORCED_OPEN);
  });
});

describe.each(SQLITE_TEST_DRIVERS)('SqliteStore bounds on outgoing HTTP origin breakers on %s', (driver) => {
  const clock = new FakeClock();
  const file = useSqliteFile(clock, driver);
  const originRows = (db: SqliteConnection): string[] =>
    db
      .prepare<[], { name: string }>(`SELECT name FROM breaker_state WHERE name LIKE 'http:%' ORDER BY name`)
      .all()
      .map((row) => row.name);
  const origin = (i: number) => `https://host-${String(i).padStart(4, '0')}.example.com`;

  /** Opens the breakers of origins `from` to `to` (excluded) by one failure each, a turn and a millisecond apart. */
  async function openOrigins(registry: Booted['registry'], maxOrigins: number, from: number, to: number) {
    const origins = originBreakersOf(registry, { maxOrigins, defaults: { failureThreshold: 1 } });
    for (let i = from; i < to; i++) {
      clock.advance(1);
      await origins
        .forUrl(`${origin(i)}/quotes`)!
        .execute(failing)
        .catch(() => undefined);
      await nextTurn();
    }
  }

  it('keeps at most twice maxOrigins rows of origin breakers however many origins come and go', async () => {
    const { registry, store } = file.boot();

    await openOrigins(registry, 5, 0, 200);
    await store.flush();

    // The 5 origins kept and the 5 evicted last, whose rows bring them back as they were.
    expect(originRows(file.reader())).toEqual(
      Array.from({ length: 10 }, (_, i) => `http:${origin(190 + i)}`),
    );
    await store.close();
    const next = file.boot();
    const origins = originBreakersOf(next.registry, { maxOrigins: 5 });
    expect(origins.forUrl(origin(190))!.state).toBe(CircuitState.OPEN);
    expect(origins.forUrl(origin(189))!.state).toBe(CircuitState.CLOSED);
  });

  it('trims the rows of origins from earlier runs to the newest, twice maxOrigins, once origins are used again', async () => {
    const first = file.boot();
    await openOrigins(first.registry, 1_000, 0, 100);
    await first.store.close();
    expect(originRows(file.reader())).toHaveLength(100);

    const { registry, store } = file.boot();
    await openOrigins(registry, 5, 100, 101);
    await store.flush();

    expect(originRows(file.reader())).toEqual(Array.from({ length: 10 }, (_, i) => `http:${origin(91 + i)}`));
  });
});
