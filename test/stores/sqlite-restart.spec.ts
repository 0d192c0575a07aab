import { closeSync, openSync, writeSync } from 'node:fs';
import { CircuitState } from '../../src/core/circuit-state';
import { isBreakerOpenError } from '../../src/core/errors';
import {
  FakeClock,
  SQLITE_TEST_DRIVERS,
  failing,
  succeeding,
  useSqliteFile,
} from '../support/sqlite-fixture';

describe.each(SQLITE_TEST_DRIVERS)('SqliteStore across a restart on %s', (driver) => {
  const clock = new FakeClock();
  const file = useSqliteFile(clock, driver);
  const breakers = { payments: { failureThreshold: 2, openDuration: 30_000 } };

  async function openPayments(): Promise<void> {
    const { registry, store } = file.boot({ breakers });
    const payments = registry.get('payments');
    await payments.execute(failing).catch(() => undefined);
    await payments.execute(failing).catch(() => undefined);
    expect(payments.state).toBe(CircuitState.OPEN);
    await store.close();
  }

  it('should bring an OPEN breaker back OPEN with the open time that was left', async () => {
    const openedAt = clock.t;
    await openPayments();
    clock.advance(10_000);

    const payments = file.boot({ breakers }).registry.get('payments');

    expect(payments.snapshot()).toMatchObject({ state: 'open', openedAt, nextAttemptAt: openedAt + 30_000 });
    const rejection = await payments.execute(succeeding).catch((e: unknown) => e);
    expect(isBreakerOpenError(rejection) && rejection.retryAfterMs).toBe(20_000);
    clock.advance(20_000);
    expect(payments.state).toBe(CircuitState.HALF_OPEN);
  });

  it('should bring an OPEN breaker whose open time ran out during the restart back ready for a trial', async () => {
    await openPayments();
    clock.advance(45_000);

    const payments = file.boot({ breakers }).registry.get('payments');

    expect(payments.state).toBe(CircuitState.HALF_OPEN);
  });

  it('should bring a HALF_OPEN breaker back OPEN for a fresh open period', async () => {
    await openPayments();
    clock.advance(30_000);
    const first = file.boot({ breakers });
    expect(first.registry.get('payments').state).toBe(CircuitState.HALF_OPEN);
    await first.store.close();
    clock.advance(1_000);

    const payments = file.boot({ breakers }).registry.get('payments');

    expect(payments.snapshot()).toMatchObject({ state: 'open', nextAttemptAt: clock.t + 30_000 });
  });

  it('should keep that fresh open period across another restart (found by the model check)', async () => {
    await openPayments();
    clock.advance(30_000);
    const first = file.boot({ breakers });
    expect(first.registry.get('payments').state).toBe(CircuitState.HALF_OPEN);
    await first.store.close();
    const second = file.boot({ breakers });
    const reopenedAt = clock.t;
    expect(second.registry.get('payments').snapshot()).toMatchObject({
      state: 'open',
      openedAt: reopenedAt,
      nextAttemptAt: reopenedAt + 30_000,
    });
    await second.store.close();
    clock.advance(10_000);

    const payments = file.boot({ breakers }).registry.get('payments');

    expect(payments.snapshot()).toMatchObject({
      state: 'open',
      openedAt: reopenedAt,
      nextAttemptAt: reopenedAt + 30_000,
      tripCount: 1,
    });
  });

  it('should keep FORCED_OPEN and DISABLED breakers as they were, however long it was down', async () => {
    const first = file.boot({ breakers: { payments: {}, llm: {} } });
    await first.registry.get('payments').trip('incident 42', 'alice');
    await first.registry.get('llm').disable('provider migration', 'bob');
    await first.store.close();
    clock.advance(7 * 24 * 3_600_000);

    const { registry } = file.boot({ breakers: { payments: {}, llm: {} } });

    expect(registry.get('payments').state).toBe(CircuitState.FORCED_OPEN);
    expect(registry.get('llm').state).toBe(CircuitState.DISABLED);
    await expect(registry.get('payments').execute(succeeding)).rejects.toMatchObject({
      code: 'BREAKER_OPEN',
    });
  });

  it('should keep the trip count, rejections and grown open duration', async () => {
    const options = {
      payments: { failureThreshold: 1, openDuration: 1_000, openBackoff: 2, openDurationMax: 8_000 },
    };
    const first = file.boot({ breakers: options });
    const payments = first.registry.get('payments');
    await payments.execute(failing).catch(() => undefined);
    await payments.execute(succeeding).catch(() => undefined);
    clock.advance(1_000);
    await payments.execute(failing).catch(() => undefined);
    expect(payments.snapshot()).toMatchObject({ tripCount: 2, rejected: 1, openDuration: 2_000 });
    await first.store.close();

    const restored = file.boot({ breakers: options }).registry.get('payments');

    expect(restored.snapshot()).toMatchObject({
      state: 'open',
      tripCount: 2,
      rejected: 1,
      openDuration: 2_000,
    });
  });

  it('should keep window counts and drop those older than the window', async () => {
    const options = { payments: { failureThreshold: 10, window: { type: 'time' as const, ms: 60_000 } } };
    const first = file.boot({ breakers: options });
    const payments = first.registry.get('payments');
    await payments.execute(failing).catch(() => undefined);
    await payments.execute(failing).catch(() => undefined);
    clock.advance(50_000);
    await payments.execute(failing).catch(() => undefined);
    await payments.execute(succeeding);
    await first.store.flush();
    await first.store.close();
    clock.advance(20_000);

    const restored = file.boot({ breakers: options }).registry.get('payments');

    expect(restored.snapshot()).toMatchObject({ state: 'closed', failures: 1, successes: 1, calls: 2 });
  });

  it('should keep the outcomes of a count window', async () => {
    const options = {
      llm: { failureThreshold: 3, minimumCalls: 4, window: { type: 'count' as const, size: 4 } },
    };
    const first = file.boot({ breakers: options });
    const llm = first.registry.get('llm');
    for (const fn of [succeeding, failing, failing]) await llm.execute(fn).catch(() => undefined);
    await first.store.close();

    const restored = file.boot({ breakers: options }).registry.get('llm');

    expect(restored.snapshot()).toMatchObject({ failures: 2, successes: 1, calls: 3 });
    await restored.execute(failing).catch(() => undefined);
    expect(restored.state).toBe(CircuitState.OPEN);
  });

  it('should ignore a stored breaker that is no longer configured', async () => {
    const first = file.boot({ breakers: { payments: {}, legacy: {} } });
    await first.registry.get('legacy').trip();
    await first.store.close();

    const { registry, logger } = file.boot({ breakers: { payments: {} } });

    expect(registry.all().map((b) => b.name)).toEqual(['payments']);
    expect(logger.warn).not.toHaveBeenCalled();
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('should restore a per-key breaker when it is created again', async () => {
    const first = file.boot({ breakers: { payments: {} } });
    await first.registry.get('payments', 'acme').trip();
    await first.store.close();

    const { registry } = file.boot({ breakers: { payments: {} } });

    expect(registry.get('payments', 'acme').state).toBe(CircuitState.FORCED_OPEN);
    expect(registry.get('payments', 'globex').state).toBe(CircuitState.CLOSED);
  });

  it('should write the last state of a breaker the registry removed', async () => {
    const first = file.boot({ breakers: { payments: {} } });
    await first.registry
      .get('payments', 'acme')
      .execute(failing)
      .catch(() => undefined);
    first.registry.remove('payments', 'acme');
    await first.store.close();

    const { registry } = file.boot({ breakers: { payments: {} } });

    expect(registry.get('payments', 'acme').snapshot()).toMatchObject({ failures: 1, calls: 1 });
  });

  it('should start a breaker afresh, with a warning, when its stored row cannot be read', async () => {
    await openPayments();
    const reader = file.reader();
    reader.prepare(`UPDATE breaker_state SET window_json = 'not json' WHERE name = 'payments'`).run();

    const { registry, logger } = file.boot({ breakers });

    expect(registry.get('payments').state).toBe(CircuitState.CLOSED);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/could not restore breaker "payments".*starts afresh/),
    );
  });

  it('should warn once, not once per breaker, when many stored rows cannot be read', async () => {
    const first = file.boot({ breakers, maxKeysPerBreaker: 1_000 });
    for (let i = 0; i < 600; i++) await first.registry.get('payments', `k${i}`).trip();
    await first.store.close();
    file.reader().prepare(`UPDATE breaker_state SET window_json = 'not json'`).run();

    const { registry, logger } = file.boot({ breakers, maxKeysPerBreaker: 1_000 });
    for (let i = 0; i < 600; i++) registry.get('payments', `k${i}`);

    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(registry.get('payments', 'k599').state).toBe(CircuitState.CLOSED);
  });

  it('should refuse a damaged file at start-up with one error naming it, logging nothing per breaker', async () => {
    const first = file.boot({ breakers, maxKeysPerBreaker: 1_000 });
    for (let i = 0; i < 600; i++) await first.registry.get('payments', `k${i}`).trip();
    await first.store.close();
    const fd = openSync(file.path(), 'r+');
    // Garbage over a whole page of the table, as a failing disk or a stray write would leave it.
    writeSync(fd, Buffer.alloc(4096, 0xab), 0, 4096, 3 * 4096);
    closeSync(fd);

    expect(() => file.boot({ breakers })).toThrow(
      /could not open ".*breakers\.db": the file is damaged \(quick_check: .*\); move it aside/,
    );
  });

  it('should refuse a file written by a newer schema', async () => {
    await openPayments();
    file.reader().exec('PRAGMA user_version = 99');

    expect(() => file.boot({ breakers })).toThrow(
      /could not open ".*breakers\.db".*newer nest-resilience \(schema version 99/,
    );
  });
});
