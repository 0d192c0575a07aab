import {
  Controller,
  Get,
  Headers,
  Param,
  ServiceUnavailableException,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { join } from 'node:path';
import { register } from 'prom-client';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { HealthModule } from '../terminus/health-app.fixture';
import { DEGRADED_CHECK_STATUS } from '../support/peers';
import { useTempDir } from '../support/temp-dir';
import { Scrape } from './metrics-scrape';

const ADMIN_TOKEN = 'admin-token';

/** Proxies to a host named by the request: the key comes straight from request input. */
@Controller('proxy')
class ProxyController {
  @CircuitBreaker('hosts', { key: (host: string) => host })
  @Get(':host')
  fetch(@Param('host') host: string): string {
    throw new ServiceUnavailableException(`${host} is down`);
  }

  @CircuitBreaker('hosts', { key: (host: string | undefined) => host as string })
  @Get()
  fromHeader(@Headers('x-host') host: string | undefined): string {
    return `proxied to ${host}`;
  }
}

describe('A key from a request never reaches another breaker', () => {
  const dir = useTempDir();
  const apps: INestApplication[] = [];

  async function boot(): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        PrometheusModule.register({ defaultMetrics: { enabled: false } }),
        ResilienceModule.forRoot({
          store: { type: 'sqlite', path: join(dir(), 'breakers.db') },
          breakers: {
            hosts: { failureThreshold: 1 },
            'hosts:internal': { critical: true },
            'hosts:a': {},
            'hosts:b': {},
            'hosts:c': {},
          },
          admin: { token: ADMIN_TOKEN },
        }),
        HealthModule,
      ],
      controllers: [ProxyController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    apps.push(app);
    return app;
  }

  async function stop(app: INestApplication): Promise<void> {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    register.clear();
  }

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    register.clear();
  });

  it('leaves a configured critical hosts:internal alone in memory, health, metrics, the store and the admin API', async () => {
    const app = await boot();
    const http = () => request(app.getHttpServer());

    await http().get('/proxy/internal').expect(503);
    await http().get('/proxy/internal').expect(503);

    const registry = app.get(BreakerRegistry);
    expect(registry.get('hosts:internal').state).toBe('closed');
    expect(registry.get('hosts', 'internal').state).toBe('open');

    const health = await http().get('/health/ready').expect(200);
    const details = health.body.details.circuit_breakers;
    expect(health.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(Object.keys(details.breakers).sort()).toEqual([
      'hosts',
      'hosts:a',
      'hosts:b',
      'hosts:c',
      'hosts:internal',
    ]);
    expect(details.breakers['hosts:internal']).toMatchObject({ state: 'closed', critical: true });
    expect(details.keys).toEqual({
      hosts: { total: 1, closed: 0, open: 1, half_open: 0, forced_open: 0, disabled: 0 },
    });

    const metrics = new Scrape((await http().get('/metrics').expect(200)).text);
    expect(metrics.value('circuit_breaker_state', { breaker: 'hosts:internal', state: 'closed' })).toBe(1);
    expect(metrics.value('circuit_breaker_state', { breaker: 'hosts:internal', state: 'open' })).toBe(0);
    expect(metrics.value('circuit_breaker_keys', { breaker: 'hosts', state: 'open' })).toBe(1);

    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const admin = await http().get('/resilience/breakers/hosts:internal').set(auth).expect(200);
    expect(admin.body).toMatchObject({ name: 'hosts:internal', state: 'closed' });
    const keyed = await http()
      .get(`/resilience/breakers/${encodeURIComponent('hosts#internal')}`)
      .set(auth);
    expect(keyed.body).toMatchObject({ name: 'hosts#internal', state: 'open' });

    await stop(app);
    const restarted = await boot();

    expect(restarted.get(BreakerRegistry).get('hosts:internal').state).toBe('closed');
    await request(restarted.getHttpServer()).get('/health/ready').expect(200);
    expect(restarted.get(BreakerRegistry).get('hosts', 'internal').state).toBe('open');
  });

  it('gives the keys 5 and "5" one breaker, and fails a call with no key instead of using the breaker "hosts"', async () => {
    const app = await boot();
    const http = () => request(app.getHttpServer());

    await http().get('/proxy').set('x-host', '5').expect(200);
    await http().get('/proxy').expect(400);

    const registry = app.get(BreakerRegistry);
    expect(registry.get('hosts', 5)).toBe(registry.get('hosts', '5'));
    expect(registry.get('hosts').snapshot().calls).toBe(0);
    expect(
      registry
        .all()
        .filter((b) => b.perKey !== undefined)
        .map((b) => b.name),
    ).toEqual(['hosts#5']);
  });
});
