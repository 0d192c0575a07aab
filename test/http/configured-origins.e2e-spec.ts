import { Test } from '@nestjs/testing';
import { register } from 'prom-client';
import { CircuitState } from '../../src/core/circuit-state';
import { isResilienceError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { createResilientFetch } from '../../src/http/resilient-fetch';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';
import { startUpstream, type Upstream } from '../support/upstream-server';
import { HealthModule } from '../terminus/health-app.fixture';

const TOKEN = 'configured-origins-token';

describe('ResilienceModule http.origins: each configured origin has its breaker from start-up', () => {
  let upstream: Upstream;

  beforeEach(async () => {
    upstream = await startUpstream();
  });
  afterEach(async () => {
    await closeAllApps();
    await upstream.close();
  });

  it('lists it, checks it in /health and lets the admin API trip it before any request', async () => {
    const name = `http:${upstream.origin}`;
    const { http, registry } = await createApp(
      { imports: [HealthModule] },
      {
        admin: { token: TOKEN },
        http: { fetch: true, origins: { [upstream.origin]: { critical: true } } },
      },
    );

    expect(registry.all().map((b) => b.name)).toEqual([name]);
    const healthy = await http().get('/health/ready').expect(200);
    expect(healthy.body.details.circuit_breakers.breakers).toEqual({
      [name]: { state: 'closed', failureRate: 0, nextAttemptAt: null, critical: true },
    });

    await http()
      .post(`/resilience/breakers/${encodeURIComponent(name)}/trip`)
      .set({ Authorization: `Bearer ${TOKEN}` })
      .send({ reason: 'incident' })
      .expect(200);

    expect(registry.get(name).state).toBe(CircuitState.FORCED_OPEN);
    await http().get('/health/ready').expect(503);
    const rejection = await fetch(`${upstream.origin}/quote`).catch((e: unknown) => e);
    expect(isResilienceError(rejection, 'BREAKER_OPEN')).toBe(true);
    expect(upstream.connections + upstream.requests).toBe(0);
  });

  it('publishes its metric series from start-up', async () => {
    await createApp({}, { metrics: {}, http: { origins: { [upstream.origin]: {} } } });

    const info = (await register.metrics())
      .split('\n')
      .filter((line) => line.startsWith('circuit_breaker_info{'));
    expect(info).toEqual([expect.stringContaining(`breaker="http:${upstream.origin}"`)]);
  });

  it('makes them with createResilientFetch(registry, options) too', () => {
    const registry = new BreakerRegistry();
    createResilientFetch(registry, {
      origins: { 'https://a.example': { timeout: 5_000 }, 'https://b.example': {} },
    });

    expect(registry.all().map((b) => [b.name, b.options.timeout])).toEqual([
      ['http:https://a.example', 5_000],
      ['http:https://b.example', 30_000],
    ]);
  });

  it('keeps a configured origin’s breaker, its state and options, however many other origins are used', async () => {
    const others = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
    try {
      const name = `http:${upstream.origin}`;
      const { registry } = await createApp(
        {},
        {
          http: {
            fetch: true,
            maxOrigins: 2,
            origins: { [upstream.origin]: { failureThreshold: 1, timeout: 4_000 } },
          },
        },
      );
      upstream.answer(503);
      await (await fetch(upstream.origin)).text();
      const opened = registry.get(name);
      expect(opened.state).toBe(CircuitState.OPEN);
      const seen = upstream.connections + upstream.requests;

      // Three other origins, where maxOrigins leaves room for one beside the configured origin.
      for (const other of others) expect((await fetch(other.origin)).status).toBe(200);

      expect(registry.all().map((b) => b.name)).toEqual([name, `http:${others[2].origin}`]);
      expect(registry.find(name)).toBe(opened);
      expect(opened.options).toMatchObject({ failureThreshold: 1, timeout: 4_000 });
      const rejection = await fetch(upstream.origin).catch((e: unknown) => e);
      expect(isResilienceError(rejection, 'BREAKER_OPEN')).toBe(true);
      expect(upstream.connections + upstream.requests).toBe(seen);
    } finally {
      await Promise.all(others.map((other) => other.close()));
    }
  });

  it('fails the boot when http.origins holds more origins than http.maxOrigins, naming both', async () => {
    const boot = Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({
          metrics: false,
          http: { maxOrigins: 1, origins: { 'https://a.example': {}, 'https://b.example': {} } },
        }),
      ],
    }).compile();

    await expect(boot).rejects.toThrow(
      'Invalid option in http: http.maxOrigins = 1; expected at least the 2 origins of http.origins, whose breakers are made at start-up and never evicted (the other origins share what is left)',
    );
  });
});
