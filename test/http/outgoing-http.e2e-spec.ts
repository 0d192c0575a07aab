import { HttpModule, HttpService } from '@nestjs/axios';
import { Controller, Get, Inject, Injectable, Logger, Module, Query } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { CircuitState } from '../../src/core/circuit-state';
import { isResilienceError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { createResilientFetch } from '../../src/http/resilient-fetch';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';
import { startUpstream, type Upstream } from '../support/upstream-server';

/** A route that calls an upstream with the global fetch, no decorator anywhere. */
@Controller()
class FetchController {
  @Get('fetch')
  async relay(@Query('url') url: string): Promise<{ status: number }> {
    const response = await fetch(url);
    await response.text();
    return { status: response.status };
  }
}

@Injectable()
class PaymentsClient {
  constructor(@Inject(HttpService) readonly http: HttpService) {}
}

@Module({
  imports: [HttpModule.register({ timeout: 5_000 })],
  providers: [PaymentsClient],
  exports: [PaymentsClient],
})
class PaymentsModule {}

@Injectable()
class PartnersClient {
  constructor(@Inject(HttpService) readonly http: HttpService) {}
}

@Module({ imports: [HttpModule.register({})], providers: [PartnersClient], exports: [PartnersClient] })
class PartnersModule {}

/** Gets `url` through `http`, answering the status whatever it is. */
async function statusThrough(http: HttpService, url: string): Promise<number> {
  const response = await lastValueFrom(http.get(url, { validateStatus: () => true }));
  return response.status;
}

describe('ResilienceModule http: outgoing requests per origin, with no code per call', () => {
  let upstream: Upstream;

  beforeEach(async () => {
    upstream = await startUpstream();
  });
  afterEach(async () => {
    await closeAllApps();
    await upstream.close();
  });

  it('protects the global fetch while the app runs, answers 503 once OPEN, and restores it on close', async () => {
    const original = globalThis.fetch;
    const { http, registry, close } = await createApp(
      { controllers: [FetchController] },
      { http: { fetch: true, defaults: { failureThreshold: 2 } } },
    );
    expect(globalThis.fetch).not.toBe(original);
    upstream.answer(500);
    const url = encodeURIComponent(`${upstream.origin}/quote`);

    await http().get(`/fetch?url=${url}`).expect(200, { status: 500 });
    await http().get(`/fetch?url=${url}`).expect(200, { status: 500 });
    expect(registry.get(`http:${upstream.origin}`).state).toBe(CircuitState.OPEN);
    const seen = upstream.connections + upstream.requests;
    const rejected = await http().get(`/fetch?url=${url}`).expect(503);

    expect(rejected.body).toMatchObject({ breaker: `http:${upstream.origin}` });
    expect(rejected.headers['retry-after']).toBe('30');
    expect(upstream.connections + upstream.requests).toBe(seen);

    await close();
    expect(globalThis.fetch).toBe(original);
  });

  it.each([
    ['first', [0, 1]],
    ['last', [1, 0]],
  ])(
    'with two apps protecting fetch, closing the %s one made keeps the other’s protection, and all closed puts the original back',
    async (_, [first, second]) => {
      const original = globalThis.fetch;
      const options = { http: { fetch: true, defaults: { failureThreshold: 2 } } };
      const apps = [await createApp({}, options), await createApp({}, options)];
      // While both run, a request goes through the breakers of each.
      await (await fetch(upstream.origin)).text();
      for (const { registry } of apps)
        expect(registry.get(`http:${upstream.origin}`).snapshot().calls).toBe(1);

      await apps[first].close();
      upstream.answer(500);
      for (let i = 0; i < 2; i++) await (await fetch(upstream.origin)).text();
      const breaker = apps[second].registry.get(`http:${upstream.origin}`);
      expect(breaker.state).toBe(CircuitState.OPEN);
      const rejection = await fetch(upstream.origin).catch((e: unknown) => e);
      expect(isResilienceError(rejection, 'BREAKER_OPEN')).toBe(true);
      expect(apps[first].registry.find(`http:${upstream.origin}`)?.state).not.toBe(CircuitState.OPEN);

      await apps[second].close();
      expect(globalThis.fetch).toBe(original);
    },
  );

  it('leaves the global fetch alone without fetch: true', async () => {
    const original = globalThis.fetch;
    await createApp({}, { http: { defaults: { failureThreshold: 2 } } });

    expect(globalThis.fetch).toBe(original);
  });

  it('protects every HttpService once: two HttpModule.register() imports and the bare HttpModule', async () => {
    const { app, registry } = await createApp(
      { imports: [PaymentsModule, PartnersModule, HttpModule] },
      { http: { axios: true, defaults: { failureThreshold: 3 } } },
    );
    const clients = [app.get(PaymentsClient).http, app.get(PartnersClient).http, app.get(HttpService)];
    expect(new Set(clients.map((c) => c.axiosRef)).size).toBe(3);

    for (const client of clients) expect(await statusThrough(client, `${upstream.origin}/a`)).toBe(200);

    // Each request counted once: no instance was protected twice.
    const breaker = registry.get(`http:${upstream.origin}`);
    expect(breaker.snapshot()).toMatchObject({ successes: 3, failures: 0 });

    upstream.answer(503);
    const error = await lastValueFrom(clients[0].get(`${upstream.origin}/a`)).catch((e: unknown) => e);
    // Axios rejects a 503 as it always does, and the breaker counted it.
    expect(error).toMatchObject({ isAxiosError: true, response: { status: 503 } });
    expect(await statusThrough(clients[1], `${upstream.origin}/b`)).toBe(503);
    expect(await statusThrough(clients[2], `${upstream.origin}/c`)).toBe(503);
    expect(breaker.state).toBe(CircuitState.OPEN);

    const seen = upstream.connections + upstream.requests;
    for (const client of clients) {
      const rejection = await statusThrough(client, `${upstream.origin}/d`).catch((e: unknown) => e);
      expect(isResilienceError(rejection, 'BREAKER_OPEN')).toBe(true);
    }
    expect(upstream.connections + upstream.requests).toBe(seen);
  });

  it('says once at boot that http.axios protects nothing in an app without an HttpService', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await createApp({}, { http: { axios: true } });
    await createApp({ imports: [PaymentsModule] }, { http: { axios: true } });
    expect(warn.mock.calls).toEqual([
      [expect.stringMatching(/^http.axios is on, but the app has no HttpService/)],
    ]);
    warn.mockRestore();
  });

  it('counts 408 and 429 through HttpService, and not 404', async () => {
    const { app, registry } = await createApp({ imports: [PaymentsModule] }, { http: { axios: true } });
    const client = app.get(PaymentsClient).http;

    upstream.answer(404);
    const notFound = await lastValueFrom(client.get(upstream.origin)).catch((e: unknown) => e);
    expect(notFound).toMatchObject({ response: { status: 404 } });
    upstream.answer(408);
    expect(await statusThrough(client, upstream.origin)).toBe(408);
    upstream.answer(429);
    expect(await statusThrough(client, upstream.origin)).toBe(429);

    // The 404 is an answer: a success for its origin, as through fetch.
    expect(registry.get(`http:${upstream.origin}`).snapshot()).toMatchObject({ failures: 2, successes: 1 });
  });

  it('judges the same answers the same through fetch and HttpService', async () => {
    const other = await startUpstream();
    try {
      const { app, registry } = await createApp(
        { imports: [PaymentsModule] },
        { http: { fetch: true, axios: true, defaults: { failureRateThreshold: 0.5, minimumCalls: 10 } } },
      );
      const client = app.get(PaymentsClient).http;
      for (const [status, times] of [
        [404, 3],
        [500, 2],
      ]) {
        upstream.answer(status);
        other.answer(status);
        for (let i = 0; i < times; i++) {
          await (await fetch(upstream.origin)).text();
          await lastValueFrom(client.get(other.origin)).catch(() => undefined);
        }
      }

      const outcome = (origin: string) => {
        const { calls, successes, failures, failureRate } = registry.get(`http:${origin}`).snapshot();
        return { calls, successes, failures, failureRate };
      };
      expect(outcome(upstream.origin)).toEqual({ calls: 5, successes: 3, failures: 2, failureRate: 0.4 });
      expect(outcome(other.origin)).toEqual(outcome(upstream.origin));
    } finally {
      await other.close();
    }
  });

  it('takes the protection off every HttpService on close, and leaves no timer behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const { app, close } = await createApp(
      { imports: [PaymentsModule] },
      { http: { axios: true, fetch: true, defaults: { timeout: 60_000 } } },
    );
    const axios = app.get(PaymentsClient).http.axiosRef;
    const adapter = axios.defaults.adapter;
    await statusThrough(app.get(PaymentsClient).http, upstream.origin);
    await (await fetch(upstream.origin)).text();

    await close();

    expect(axios.defaults.adapter).not.toBe(adapter);
    expect(timers()).toBe(before);
  });

  it('fails the boot on bad http options, naming the key', async () => {
    const boot = Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ metrics: false, http: { fetch: 'yes' } as never })],
    }).compile();

    await expect(boot).rejects.toThrow('Invalid option in http: http.fetch = "yes"; expected true or false');
  });

  it('fails the boot when a configured breaker takes an origin breaker’s name', async () => {
    const boot = Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({
          metrics: false,
          breakers: { [`http:${'https://api.example.com'}`]: {} },
          http: {},
        }),
      ],
    }).compile();

    await expect(boot).rejects.toThrow(/circuit breaker "http:https:\/\/api\.example\.com"/);
  });

  it('lets createResilientFetch(registry) share the module’s origin breakers', async () => {
    const { registry } = await createApp({}, { http: { defaults: { failureThreshold: 7 } } });

    await (await createResilientFetch(registry)(upstream.origin)).text();

    expect(registry.get(`http:${upstream.origin}`).options.failureThreshold).toBe(7);
    expect(registry).toBeInstanceOf(BreakerRegistry);
  });
});
