import { CircuitState } from '../../src/core/circuit-state';
import type { BreakerRegistry } from '../../src/core/registry';
import { FakeClock, SQLITE_TEST_DRIVERS, succeeding, useSqliteFile } from '../support/sqlite-fixture';
import { keyedRows, keys, openKeys } from '../support/sqlite-per-key-rows';

/** The full names of the per-key breakers the registry keeps. */
const perKey = (registry: BreakerRegistry): string[] =>
  registry
    .all()
    .filter((breaker) => breaker.perKey !== undefined)
    .map((breaker) => breaker.name)
    .sort();

describe.each(SQLITE_TEST_DRIVERS)(
  'SqliteStore brings back per-key breakers that are not closed on %s',
  (driver) => {
    const clock = new FakeClock();
    const file = useSqliteFile(clock, driver);
    const breakers = { hosts: { failureThreshold: 1, openDuration: 60_000 } };

    it('creates each at attach in its stored state, and leaves closed rows in the file', async () => {
      const first = file.boot({ breakers });
      await openKeys(clock, first.registry, ['down']);
      await first.registry.get('hosts', 'ok').execute(succeeding);
      await first.registry.get('hosts', 'tripped').trip('maintenance');
      await first.registry.get('hosts', 'off').disable('load test');
      await first.store.close();

      const { registry } = file.boot({ breakers });

      expect(perKey(registry)).toEqual(['hosts#down', 'hosts#off', 'hosts#tripped']);
      expect(registry.find('hosts#down')?.state).toBe(CircuitState.OPEN);
      expect(registry.find('hosts#tripped')?.state).toBe(CircuitState.FORCED_OPEN);
      expect(registry.find('hosts#off')?.state).toBe(CircuitState.DISABLED);
      expect(registry.get('hosts', 'ok').snapshot()).toMatchObject({ state: 'closed', calls: 1 });
    });

    it('shows one whose open period ran out as it is now: half-open', async () => {
      const first = file.boot({ breakers });
      await openKeys(clock, first.registry, ['down']);
      await first.store.close();
      clock.advance(60_000);

      const { registry } = file.boot({ breakers });

      expect(registry.find('hosts#down')?.state).toBe(CircuitState.HALF_OPEN);
    });

    it('leaves parked the rows of a name the app does not declare per-key, until it declares it', async () => {
      const first = file.boot({ breakers: { ...breakers, legacyTenants: {} } });
      await first.registry.get('legacyTenants', 't1').trip('maintenance');
      await openKeys(clock, first.registry, ['down']);
      await first.store.close();

      const { registry } = file.boot({ breakers });

      expect(perKey(registry)).toEqual(['hosts#down']);
      // Declared after attach (the explorer finds a @CircuitBreaker({ key }) of it).
      registry.perKeyOptions('legacyTenants');
      expect(perKey(registry)).toEqual(['hosts#down', 'legacyTenants#t1']);
      expect(registry.find('legacyTenants#t1')?.state).toBe(CircuitState.FORCED_OPEN);
    });

    it('brings back at most maxKeysPerBreaker per name, the most recently saved, and keeps the other rows parked', async () => {
      const first = file.boot({ breakers, maxKeysPerBreaker: 20 });
      await openKeys(clock, first.registry, keys(0, 30));
      await first.store.close();

      const { registry, store } = file.boot({ breakers, maxKeysPerBreaker: 5 });

      expect(perKey(registry)).toEqual(keys(25, 30).map((k) => `hosts#${k}`));
      await store.flush();
      expect(keyedRows(file.reader())).toBe(10);
      // A parked row still brings its breaker back open when a call needs it.
      expect(registry.get('hosts', 'k20').state).toBe(CircuitState.OPEN);
      expect(perKey(registry)).toHaveLength(5);
    });
  },
);
