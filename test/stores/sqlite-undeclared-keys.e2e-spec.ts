import { join } from 'node:path';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';
import { HostsProxyController } from '../support/hosts-proxy-controller';
import { LegacyTenantsController, TenantsController } from '../support/tenant-controllers';
import { DEGRADED_CHECK_STATUS } from '../support/peers';
import { SQLITE_TEST_DRIVERS, sqliteDriver } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';
import { HealthModule } from '../terminus/health-app.fixture';

describe.each(SQLITE_TEST_DRIVERS)('per-key rows of a name the app no longer declares, on %s', (driver) => {
  const dir = useTempDir();
  const path = () => join(dir(), 'breakers.db');
  const options = (): ResilienceModuleRootOptions => ({
    store: { type: 'sqlite', path: path(), driver },
    breakers: { hosts: { failureThreshold: 1, openDuration: 600_000 } },
  });

  afterEach(closeAllApps);

  const start = (controllers: Array<new () => unknown>): Promise<TestApp> =>
    createApp({ controllers, imports: [HealthModule] }, options());

  /** The state of the row of `fullName` in the file, read apart from the app. */
  const row = (fullName: string): string | undefined => {
    const db = sqliteDriver(driver).open(path());
    try {
      return db
        .prepare<[string], { state: string }>('SELECT state FROM breaker_state WHERE name = ?')
        .get(fullName)?.state;
    } finally {
      db.close();
    }
  };

  it('are not brought back: /health is not degraded by them, on any start, and their rows stay in the file', async () => {
    const first = await start([HostsProxyController, LegacyTenantsController]);
    await first.breaker('legacyTenants', 't1').trip('maintenance', 'ops');
    await first.close();

    for (let run = 0; run < 3; run++) {
      const next = await start([HostsProxyController]);

      const res = await next.http().get('/health/ready').expect(200);

      expect(res.body.status).toBe('ok');
      expect(res.body.details.circuit_breakers).toMatchObject({ total: 1, closed: 1, keys: {} });
      expect(next.registry.find('legacyTenants#t1')).toBeUndefined();
      expect(next.registry.all().map((breaker) => breaker.name)).toEqual(['hosts']);
      await next.close();
    }
    // Parked: the app that declares the name again finds it as it was.
    expect(row('legacyTenants#t1')).toBe('forced_open');
    const back = await start([HostsProxyController, LegacyTenantsController]);
    expect(back.registry.find('legacyTenants#t1')?.state).toBe('forced_open');
  });

  it('of a name only a @CircuitBreaker({ key }) declares (not configured) are brought back at start-up', async () => {
    const first = await start([TenantsController]);
    await first.breaker('tenants', 't1').trip('maintenance', 'ops');
    await first.close();

    const second = await start([TenantsController]);

    const res = await second.http().get('/health/ready').expect(200);
    expect(res.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(res.body.details.circuit_breakers.keys).toMatchObject({ tenants: { total: 1, forced_open: 1 } });
    expect(second.registry.find('tenants#t1')?.state).toBe('forced_open');
  });
});
