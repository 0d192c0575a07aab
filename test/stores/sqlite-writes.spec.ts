import { copyFileSync, existsSync, renameSync, unlinkSync } from 'node:fs';
import { CircuitState } from '../../src/core/circuit-state';
import type { SqliteConnection, SqliteDriverName } from '../../src/stores/sqlite-drivers/sqlite-driver';
import {
  FakeClock,
  SQLITE_TEST_DRIVERS,
  countStateWrites,
  failing,
  nextTurn,
  succeeding,
  useSqliteFile,
} from '../support/sqlite-fixture';

/** Makes every write of the store fail, as a broken disk would, until the returned switch is called. */
function breakWrites(db: SqliteConnection): () => void {
  db.exec(`
    CREATE TABLE outage (active INTEGER NOT NULL);
    INSERT INTO outage VALUES (1);
    CREATE TRIGGER refuse_state BEFORE INSERT ON breaker_state WHEN (SELECT active FROM outage)
      BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END;
    CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log WHEN (SELECT active FROM outage)
      BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END;
  `);
  return () => db.exec('UPDATE outage SET active = 0');
}

/** What each driver says of a connection closed underneath the store. */
const CLOSED_BY_DRIVER: Record<SqliteDriverName, string> = {
  'better-sqlite3': 'The database connection is not open',
  'node:sqlite': 'database is not open',
  'bun:sqlite': 'Database has closed',
};

describe.each(SQLITE_TEST_DRIVERS)('SqliteStore writes on %s', (driver) => {
  const clock = new FakeClock();
  const file = useSqliteFile(clock, driver);
  const breakers = { payments: { failureThreshold: 3, openDuration: 30_000 } };

  afterEach(() => jest.useRealTimers());

  it('should not write per call: changed counts wait for a flush, one row per changed breaker', async () => {
    const { registry, store } = file.boot({ breakers: { ...breakers, llm: {} } });
    const writes = countStateWrites(file.reader());
    const payments = registry.get('payments');

    for (let i = 0; i < 500; i++) await payments.execute(succeeding);
    await payments.execute(failing).catch(() => undefined);
    await nextTurn();
    expect(writes()).toBe(0);

    await store.flush();
    expect(writes()).toBe(1);
    await store.flush();
    expect(writes()).toBe(1);
  });

  it('should write a transition at the end of the turn that caused it, not during the call', async () => {
    const { registry } = file.boot({ breakers });
    const reader = file.reader();
    const writes = countStateWrites(reader);
    const payments = registry.get('payments');

    for (let i = 0; i < 3; i++) await payments.execute(failing).catch(() => undefined);
    expect(payments.state).toBe(CircuitState.OPEN);
    expect(writes()).toBe(0);

    await nextTurn();
    expect(writes()).toBe(1);
    expect(
      reader.prepare<[string]>('SELECT state FROM breaker_state WHERE name = ?').get('payments'),
    ).toEqual({
      state: 'open',
    });
  });

  it('should settle a manual action once the store has it', async () => {
    const { registry } = file.boot({ breakers });
    const reader = file.reader();

    await registry.get('payments').trip('incident 42', 'alice');

    expect(reader.prepare('SELECT state, trip_count FROM breaker_state').all()).toEqual([
      { state: 'forced_open', trip_count: 1 },
    ]);
    expect(reader.prepare('SELECT action, to_state, actor FROM audit_log').all()).toEqual([
      { action: 'trip', to_state: 'forced_open', actor: 'alice' },
    ]);
  });

  it('should write changed counts every flushInterval', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    const { registry } = file.boot({ breakers }, { flushInterval: 2_000 });
    const writes = countStateWrites(file.reader());
    await registry.get('payments').execute(succeeding);

    jest.advanceTimersByTime(1_999);
    expect(writes()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(writes()).toBe(1);
    jest.advanceTimersByTime(10_000);
    expect(writes()).toBe(1);
  });

  it('should not hold the process open with its flush timer', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();

    file.boot({ breakers });

    expect(timers()).toBe(before);
  });

  it('should keep serving calls and manual actions when writes fail, log once, and catch up once it works again', async () => {
    const { registry, store, logger } = file.boot({ breakers });
    const reader = file.reader();
    const repair = breakWrites(reader);
    const payments = registry.get('payments');

    for (let i = 0; i < 3; i++) await expect(payments.execute(failing)).rejects.toThrow('downstream failed');
    await nextTurn();
    await expect(payments.trip('incident 42', 'alice')).resolves.toBeUndefined();
    await store.flush();

    expect(payments.state).toBe(CircuitState.FORCED_OPEN);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringMatching(
        /breakers\.db": writing breaker state failed \(disk I\/O error \(simulated\)\).*retried/,
      ),
    );
    expect((await registry.audit('payments')).map((e) => e.to)).toEqual(['forced_open', 'open']);
    expect(store.status()).toEqual({ type: 'sqlite', status: 'down', driver });

    repair();
    await store.flush();

    expect(store.status()).toEqual({ type: 'sqlite', status: 'up', driver });

    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/writes succeed again/));
    expect(reader.prepare('SELECT state FROM breaker_state').all()).toEqual([{ state: 'forced_open' }]);
    expect(reader.prepare('SELECT action, to_state FROM audit_log ORDER BY id').all()).toEqual([
      { action: 'transition', to_state: 'open' },
      { action: 'trip', to_state: 'forced_open' },
    ]);
  });

  it('should not wait for another process that holds the file locked', async () => {
    const { registry, store, logger } = file.boot({ breakers });
    const reader = file.reader();
    reader.exec('BEGIN IMMEDIATE');

    const started = Date.now();
    await registry.get('payments').trip();

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/database is locked/));
    reader.exec('COMMIT');
    await store.flush();
    expect(reader.prepare('SELECT state FROM breaker_state').all()).toEqual([{ state: 'forced_open' }]);
  });

  it('should keep the breakers working when the file is closed underneath it', async () => {
    const { registry, store, logger, db } = file.boot({ breakers });
    db.close();
    const payments = registry.get('payments');

    await expect(payments.execute(succeeding)).resolves.toBe('ok');
    for (let i = 0; i < 3; i++) await payments.execute(failing).catch(() => undefined);
    await payments.trip();
    await store.flush();

    expect(payments.state).toBe(CircuitState.FORCED_OPEN);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining(`writing breaker state failed (${CLOSED_BY_DRIVER[driver]})`),
    );
  });

  it('should write what is pending on close, then stop following the breakers', async () => {
    const { registry, store } = file.boot({ breakers });
    const reader = file.reader();
    const payments = registry.get('payments');
    await payments.execute(failing).catch(() => undefined);

    await store.close();
    await store.close();
    await payments.trip();

    expect(reader.prepare('SELECT state, window_json FROM breaker_state').get()).toEqual({
      state: 'closed',
      window_json: expect.stringContaining('"type":"time"'),
    });
    expect(reader.prepare('SELECT COUNT(*) AS n FROM audit_log').get()).toEqual({ n: 0 });
  });

  it('should leave no write-ahead log behind once closed: the file alone holds everything', async () => {
    const { registry, store } = file.boot({ breakers });
    await registry.get('payments').trip('incident 42', 'alice');

    await store.close();

    expect(existsSync(`${file.path()}-wal`)).toBe(false);
  });

  it('should notice a file deleted while in use, say so once, and write every breaker into a new file there', async () => {
    const { registry, store, logger } = file.boot({ breakers: { ...breakers, llm: {} } });
    await registry.get('payments').trip('incident 42', 'alice');
    await registry.get('llm').disable('maintenance', 'bob');
    unlinkSync(file.path());

    await registry.get('payments').reset({ force: true, reason: 'fixed', actor: 'alice' });
    await registry.get('payments').trip('again', 'carol');
    await store.flush();

    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringMatching(
        /breakers\.db": the file was deleted or replaced while in use.*creates a new file/,
      ),
    );
    const reader = file.reader();
    expect(reader.prepare('SELECT name, state FROM breaker_state ORDER BY name').all()).toEqual([
      { name: 'llm', state: 'disabled' },
      { name: 'payments', state: 'forced_open' },
    ]);
    expect(reader.prepare('SELECT action, actor FROM audit_log ORDER BY id').all()).toEqual([
      { action: 'reset', actor: 'alice' },
      { action: 'trip', actor: 'carol' },
    ]);
  });

  it('should notice a file replaced by another one while in use, and write into the one now there', async () => {
    const { registry, store, logger } = file.boot({ breakers });
    await registry.get('payments').trip('incident 42', 'alice');
    copyFileSync(file.path(), `${file.path()}.copy`);
    renameSync(`${file.path()}.copy`, file.path());

    await registry.get('payments').disable('maintenance', 'bob');
    await store.flush();

    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(file.reader().prepare('SELECT state FROM breaker_state').all()).toEqual([{ state: 'disabled' }]);
  });

  it('should keep every audit entry of a burst of manual actions while the store works, and claim no failure', async () => {
    const { registry, store, logger } = file.boot({ breakers });
    const payments = registry.get('payments');

    const actions: Array<Promise<void>> = [];
    for (let i = 0; i < 6_000; i++) {
      actions.push(payments.trip(`trip ${i}`, 'ops'), payments.reset({ force: true, actor: 'ops' }));
    }
    await Promise.all(actions);
    await store.close();

    const rows = file.reader().prepare('SELECT COUNT(*) AS n FROM audit_log').get();
    expect(rows).toEqual({ n: 12_000 });
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('should say at start-up which file it opened, and through which driver', () => {
    const { logger } = file.boot({ breakers });

    expect(logger.log).toHaveBeenCalledWith(`SQLite store "${file.path()}" open through ${driver}`);
  });

  it('should be attached to one registry only', () => {
    const { store, registry } = file.boot({ breakers });

    expect(() => store.attach(registry)).toThrow('A store can be attached to one registry only, once');
  });
});
