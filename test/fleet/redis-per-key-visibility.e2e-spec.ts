import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { Scrape } from '../nest/metrics-scrape';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';
import { eventually } from '../support/eventually';
import { HostsProxyController } from '../support/hosts-proxy-controller';
import { oneHot } from '../support/one-hot-state';
import { DEGRADED_CHECK_STATUS } from '../support/peers';
import { deleteKeys, PROPAGATION_MS, REDIS_URL, testPrefix } from '../support/redis-fixture';
import { HealthModule } from '../terminus/health-app.fixture';

/** The per-key breakers of `hosts` by state, as /health reports them. */
async function hostsHealth(app: TestApp): Promise<{ status: string; hosts?: Record<string, number> }> {
  const res = await app.http().get('/health/ready');
  return { status: res.body.status, hosts: res.body.details.circuit_breakers.keys.hosts };
}

let prefix: string;

beforeEach(() => {
  prefix = testPrefix();
});

afterEach(async () => {
  await closeAllApps();
  await deleteKeys(prefix);
});

const options = (extra: ResilienceModuleRootOptions = {}): ResilienceModuleRootOptions => ({
  store: { type: 'redis', url: REDIS_URL, keyPrefix: prefix, commandTimeout: 2_000 },
  breakers: { hosts: { failureThreshold: 1, openDuration: 600_000 } },
  ...extra,
});

/** An instance that takes the traffic (and publishes no metrics: prom-client's registry is one per process). */
const instanceA = () => createApp({ controllers: [HostsProxyController] }, options());

/** An instance serving /health and /metrics, which no request for a key reaches. */
const instanceB = (extra: ResilienceModuleRootOptions = {}) =>
  createApp(
    {
      controllers: [HostsProxyController],
      imports: [PrometheusModule.register({ defaultMetrics: { enabled: false } }), HealthModule],
    },
    options({ metrics: { perKey: true }, ...extra }),
  );

const scrape = async (app: TestApp) => new Scrape((await app.http().get('/metrics').expect(200)).text);

describe('per-key breakers another instance opened through the redis store', () => {
  it('appear in /health and /metrics of an instance already running as soon as it hears of them, and close with the fleet', async () => {
    const a = await instanceA();
    const b = await instanceB();
    expect((await hostsHealth(b)).hosts).toBeUndefined();

    await a.http().get('/proxy/down.example/fail').expect(503);
    await a.breaker('hosts', 'maintained.example').trip('maintenance', 'ops');

    await eventually(
      async () => (await hostsHealth(b)).hosts?.forced_open === 1 && (await hostsHealth(b)).hosts?.open === 1,
      PROPAGATION_MS * 4,
      20,
    );
    expect(await hostsHealth(b)).toEqual({
      status: DEGRADED_CHECK_STATUS,
      hosts: { total: 2, closed: 0, open: 1, half_open: 0, forced_open: 1, disabled: 0 },
    });
    const metrics = await scrape(b);
    expect(metrics.value('circuit_breaker_keys', { breaker: 'hosts', state: 'open' })).toBe(1);
    expect(metrics.value('circuit_breaker_keys', { breaker: 'hosts', state: 'forced_open' })).toBe(1);
    expect(metrics.series('circuit_breaker_state', { breaker: 'hosts#down.example' })).toEqual(
      oneHot('hosts#down.example', 'open'),
    );
    expect(metrics.series('circuit_breaker_state', { breaker: 'hosts#maintained.example' })).toEqual(
      oneHot('hosts#maintained.example', 'forced_open'),
    );

    await a.breaker('hosts', 'maintained.example').reset({ reason: 'done', force: true });
    await eventually(async () => (await hostsHealth(b)).hosts?.forced_open === 0, PROPAGATION_MS * 4, 20);
    expect((await hostsHealth(b)).hosts).toMatchObject({ total: 2, closed: 1, open: 1 });
  });

  it('appear in /health and /metrics of an instance that starts after they opened, at once', async () => {
    const a = await instanceA();
    await a.http().get('/proxy/down.example/fail').expect(503);
    await a.http().get('/proxy/ok.example/ok').expect(200);
    await a.breaker('hosts', 'maintained.example').trip('maintenance', 'ops');

    const b = await instanceB();

    expect(await hostsHealth(b)).toEqual({
      status: DEGRADED_CHECK_STATUS,
      hosts: { total: 2, closed: 0, open: 1, half_open: 0, forced_open: 1, disabled: 0 },
    });
    const metrics = await scrape(b);
    expect(metrics.series('circuit_breaker_state', { breaker: 'hosts#down.example' })).toEqual(
      oneHot('hosts#down.example', 'open'),
    );
    expect(metrics.series('circuit_breaker_state', { breaker: 'hosts#maintained.example' })).toEqual(
      oneHot('hosts#maintained.example', 'forced_open'),
    );
    // A closed per-key breaker is not brought in: the fleet keeps no state of it.
    expect(b.registry.has('hosts', 'ok.example')).toBe(false);
    // The first request for the key meets the breaker that was shown.
    await b.http().get('/proxy/down.example/ok').expect(503);
  });

  it('are kept within maxKeysPerBreaker, whichever way the instance hears of them', async () => {
    const a = await instanceA();
    for (const key of ['k1', 'k2', 'k3']) await a.http().get(`/proxy/${key}/fail`).expect(503);
    const b = await instanceB({ maxKeysPerBreaker: 2 });
    expect((await hostsHealth(b)).hosts).toMatchObject({ total: 2, open: 2 });
    // Those whose open periods end last, however many times the instance read the fleet state.
    expect(['k1', 'k2', 'k3'].filter((key) => b.registry.has('hosts', key))).toEqual(['k2', 'k3']);

    for (const key of ['k4', 'k5', 'k6']) await a.http().get(`/proxy/${key}/fail`).expect(503);

    await eventually(() => b.registry.has('hosts', 'k6'), PROPAGATION_MS * 4, 20);
    expect((await hostsHealth(b)).hosts).toMatchObject({ total: 2, open: 2 });
    expect(b.registry.all().filter((breaker) => breaker.perKey !== undefined)).toHaveLength(2);
    // One evicted here starts OPEN again when a request needs it, from what the instance heard.
    expect(b.registry.has('hosts', 'k1')).toBe(false);
    await b.http().get('/proxy/k1/ok').expect(503);
  });
});
