import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { join } from 'node:path';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { Scrape } from '../nest/metrics-scrape';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';
import { HostsProxyController } from '../support/hosts-proxy-controller';
import { oneHot } from '../support/one-hot-state';
import { DEGRADED_CHECK_STATUS, DEGRADED_STATUS } from '../support/peers';
import { SQLITE_TEST_DRIVERS } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';
import { HealthModule } from '../terminus/health-app.fixture';

describe.each(SQLITE_TEST_DRIVERS)('per-key breakers restored from a SQLite file on %s', (driver) => {
  const dir = useTempDir();
  const options = (extra: ResilienceModuleRootOptions = {}): ResilienceModuleRootOptions => ({
    store: { type: 'sqlite', path: join(dir(), 'breakers.db'), driver },
    breakers: { hosts: { failureThreshold: 1, openDuration: 600_000 } },
    ...extra,
  });

  afterEach(closeAllApps);

  /** Opens hosts#down.example by a failing request, trips hosts#maintained.example, closes hosts#ok.example. */
  async function firstRun(): Promise<void> {
    const first = await createApp({ controllers: [HostsProxyController] }, options());
    await first.http().get('/proxy/down.example/fail').expect(503);
    await first.http().get('/proxy/ok.example/ok').expect(200);
    await first.breaker('hosts', 'maintained.example').trip('maintenance', 'ops');
    expect(first.breaker('hosts', 'down.example').state).toBe('open');
    await first.close();
  }

  const secondRun = (extra?: ResilienceModuleRootOptions): Promise<TestApp> =>
    createApp(
      {
        controllers: [HostsProxyController],
        imports: [PrometheusModule.register({ defaultMetrics: { enabled: false } }), HealthModule],
      },
      options(extra),
    );

  it('reports the open and forced-open per-key breakers in /health before any request for their keys', async () => {
    await firstRun();
    const second = await secondRun();

    const res = await second.http().get('/health/ready').expect(200);

    expect(res.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(res.body.details.circuit_breakers).toMatchObject({
      total: 3,
      closed: 1,
      open: 1,
      forced_open: 1,
      keys: { hosts: { total: 2, closed: 0, open: 1, half_open: 0, forced_open: 1, disabled: 0 } },
      status: DEGRADED_STATUS,
    });
    // The closed key's row is left in the file until a request needs it.
    expect(second.registry.has('hosts', 'ok.example')).toBe(false);
  });

  it('publishes their state in /metrics before any request for their keys', async () => {
    await firstRun();
    const second = await secondRun({ metrics: { perKey: true } });

    const scrape = new Scrape((await second.http().get('/metrics').expect(200)).text);

    expect(scrape.value('circuit_breaker_keys', { breaker: 'hosts', state: 'open' })).toBe(1);
    expect(scrape.value('circuit_breaker_keys', { breaker: 'hosts', state: 'forced_open' })).toBe(1);
    expect(scrape.value('circuit_breaker_keys', { breaker: 'hosts', state: 'closed' })).toBe(0);
    expect(scrape.series('circuit_breaker_state', { breaker: 'hosts#down.example' })).toEqual(
      oneHot('hosts#down.example', 'open'),
    );
    expect(scrape.series('circuit_breaker_state', { breaker: 'hosts#maintained.example' })).toEqual(
      oneHot('hosts#maintained.example', 'forced_open'),
    );
    expect(scrape.series('circuit_breaker_state', { breaker: 'hosts#ok.example' })).toEqual([]);
  });

  it('serves the restored breaker to the first request for its key: it rejects at once', async () => {
    await firstRun();
    const second = await secondRun();
    const restored = second.registry.find('hosts#down.example');
    expect(restored?.state).toBe('open');

    const res = await second.http().get('/proxy/down.example/ok').expect(503);

    expect(res.body).toMatchObject({ breaker: 'hosts#down.example' });
    expect(second.breaker('hosts', 'down.example')).toBe(restored);
  });
});
