import Redis from 'ioredis';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';
import { eventually } from '../support/eventually';
import { HostsProxyController } from '../support/hosts-proxy-controller';
import { LegacyTenantsController, TenantsController } from '../support/tenant-controllers';
import { DEGRADED_CHECK_STATUS } from '../support/peers';
import { deleteKeys, PROPAGATION_MS, REDIS_URL, testPrefix } from '../support/redis-fixture';
import { HealthModule } from '../terminus/health-app.fixture';

let prefix: string;

beforeEach(() => {
  prefix = testPrefix();
});

afterEach(async () => {
  await closeAllApps();
  await deleteKeys(prefix);
});

const options = (): ResilienceModuleRootOptions => ({
  store: { type: 'redis', url: REDIS_URL, keyPrefix: prefix, commandTimeout: 2_000 },
  breakers: { hosts: { failureThreshold: 1, openDuration: 600_000 } },
});

const start = (controllers: Array<new () => unknown>): Promise<TestApp> =>
  createApp({ controllers, imports: [HealthModule] }, options());

/** Instance A: it declares `legacyTenants` per-key (and `hosts`). */
const instanceA = () => start([HostsProxyController, LegacyTenantsController]);

/** Instance B: it declares `hosts` only. */
const instanceB = () => start([HostsProxyController]);

const health = async (app: TestApp) => (await app.http().get('/health/ready').expect(200)).body;

/** The full names of the per-key breakers an app keeps. */
const perKey = (app: TestApp): string[] =>
  app.registry
    .all()
    .filter((breaker) => breaker.perKey !== undefined)
    .map((breaker) => breaker.name)
    .sort();

describe('per-key states in Redis of a name the instance does not declare', () => {
  it('create nothing on an instance that hears them: its /health stays ok', async () => {
    const b = await instanceB();
    const a = await instanceA();

    await a.breaker('legacyTenants', 't1').trip('maintenance', 'ops');
    // Heard after the trip, on the same channel: once B has it, B has heard the trip too.
    await a.http().get('/proxy/down.example/fail').expect(503);
    await eventually(() => b.registry.has('hosts', 'down.example'), PROPAGATION_MS * 4, 20);

    expect(perKey(b)).toEqual(['hosts#down.example']);
    expect(b.registry.find('legacyTenants#t1')).toBeUndefined();
    expect((await health(b)).details.circuit_breakers.keys).toEqual({
      hosts: { total: 1, closed: 0, open: 1, half_open: 0, forced_open: 0, disabled: 0 },
    });
  });

  it('create nothing on an instance that starts after and reads them', async () => {
    const a = await instanceA();
    await a.breaker('legacyTenants', 't1').trip('maintenance', 'ops');

    const b = await instanceB();

    expect(perKey(b)).toEqual([]);
    const body = await health(b);
    expect(body.status).toBe('ok');
    expect(body.details.circuit_breakers).toMatchObject({ total: 1, closed: 1, keys: {} });
  });

  it('create nothing for any name a message on the channel carries', async () => {
    const b = await instanceB();
    const a = await instanceA();
    const admin = new Redis(REDIS_URL);
    try {
      for (let i = 0; i < 50; i++)
        await admin.publish(
          `${prefix}transitions`,
          JSON.stringify({
            n: `made-up-${i}#k`,
            s: 'forced_open',
            g: 1,
            o: '',
            u: '',
            d: 0,
            t: Date.now(),
            r: 'x',
            m: true,
            a: '',
          }),
        );
    } finally {
      admin.disconnect();
    }
    await a.http().get('/proxy/down.example/fail').expect(503);
    await eventually(() => b.registry.has('hosts', 'down.example'), PROPAGATION_MS * 4, 20);

    expect(perKey(b)).toEqual(['hosts#down.example']);
    expect((await health(b)).details.circuit_breakers.total).toBe(2);
  });

  it('of a name a @CircuitBreaker({ key }) declares (not configured) are created at start-up', async () => {
    const a = await start([TenantsController]);
    await a.breaker('tenants', 't1').trip('maintenance', 'ops');

    const b = await start([TenantsController]);

    expect(b.registry.find('tenants#t1')?.state).toBe('forced_open');
    const body = await health(b);
    expect(body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(body.details.circuit_breakers.keys).toMatchObject({ tenants: { total: 1, forced_open: 1 } });
  });
});
