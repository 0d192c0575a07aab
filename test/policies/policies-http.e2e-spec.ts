import { Controller, Get, Headers, Inject, Injectable, Param } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { defer, from, Observable } from 'rxjs';
import { getCallSignal } from '../../src/nest/breaker-call';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { ResilienceErrorsFilter } from '../../src/nest/error-mapping/resilience-errors.filter';
import { Bulkhead, RateLimit, Resilient, Retry, Timeout } from '../../src/nest/policy.decorators';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';

/** Resolves after `ms` of real time, or rejects when `signal` aborts. */
function work(ms: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve('done'), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });
}

@Injectable()
class Quotes {
  attempts = 0;
  aborted = 0;

  @Resilient('payments', { fallback: 'cached' })
  async quote(id: string): Promise<string> {
    this.attempts++;
    if (id === 'flaky' && this.attempts < 3) throw new Error('downstream failed');
    if (id === 'down') throw new Error('downstream failed');
    return `quote ${id}`;
  }

  cached(id: string, error: Error): string {
    return `cached ${id} (${error.message})`;
  }

  @Timeout(50)
  async slow(): Promise<string> {
    const signal = getCallSignal();
    try {
      return await work(2_000, signal);
    } finally {
      if (signal?.aborted) this.aborted++;
    }
  }

  @Retry({ attempts: 2, delay: 1, jitter: 'none' })
  stream(): Observable<string> {
    return defer(() => {
      this.attempts++;
      return this.attempts < 3 ? from(Promise.reject(new Error('reset'))) : from(['a', 'b']);
    });
  }
}

@Controller()
class PoliciesController {
  constructor(@Inject(Quotes) private readonly quotes: Quotes) {}

  @RateLimit({ limit: 2, interval: 60_000 })
  @Get('search')
  async search(): Promise<string> {
    return 'results';
  }

  @Get('report')
  @Bulkhead({ maxConcurrent: 1 })
  async report(): Promise<string> {
    return work(300);
  }

  @Get('slow')
  slow(): Promise<string> {
    return this.quotes.slow();
  }

  @Get('quote/:id')
  quote(@Param('id') id: string): Promise<string> {
    return this.quotes.quote(id);
  }
}

@Controller('keyed')
class KeyedController {
  @CircuitBreaker('tenants', { key: (tenant: string | undefined) => tenant as string })
  @Get()
  async forTenant(@Headers('x-tenant') tenant: string | undefined): Promise<string> {
    return `tenant ${tenant}`;
  }
}

const app = () =>
  createApp(
    { controllers: [PoliciesController], providers: [Quotes] },
    {
      breakers: { payments: { minimumCalls: 100 } },
      policies: { payments: { breaker: 'payments', retry: { attempts: 2, delay: 5, jitter: 'none' } } },
    },
  );

describe('policies over HTTP', () => {
  afterEach(closeAllApps);

  it('should answer 429 with Retry-After once the rate limit is reached', async () => {
    const t = await app();
    await t.http().get('/search').expect(200, 'results');
    await t.http().get('/search').expect(200);
    const refused = await t.http().get('/search').expect(429);
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringContaining('rate limit'),
      code: 'RATE_LIMITED',
      policy: 'PoliciesController.search',
      retryAfterMs: expect.any(Number),
    });
  });

  it('should answer every policy rejection through ResilienceErrorsFilter with mapErrors off', async () => {
    const t = await createApp(
      {
        controllers: [PoliciesController, KeyedController],
        providers: [Quotes, { provide: APP_FILTER, useClass: ResilienceErrorsFilter }],
      },
      { policies: { payments: {} }, mapErrors: false },
    );
    await t.http().get('/search').expect(200);
    await t.http().get('/search').expect(200);
    const limited = await t.http().get('/search').expect(429);
    expect(limited.headers['retry-after']).toBe('30');
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', policy: 'PoliciesController.search' });
    await t.http().get('/slow').expect(504);
    const badKey = await t.http().get('/keyed').expect(400);
    expect(badKey.body).toMatchObject({ breaker: 'tenants', message: expect.stringContaining('tenants') });
  });

  it('should answer 503 with Retry-After when the bulkhead is full', async () => {
    const t = await app();
    const server = t.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const first = t.http().get('/report');
    const firstDone = first.then((r) => r);
    // Let the first request take the only slot.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await t.http().get('/report').expect(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      code: 'BULKHEAD_FULL',
      policy: 'PoliciesController.report',
      retryAfterMs: 1_000,
    });
    expect((await firstDone).status).toBe(200);
    await t.http().get('/report').expect(200);
  });

  it('should answer 504 without Retry-After when the total timeout elapses, and abort the call signal', async () => {
    const t = await app();
    const answer = await t.http().get('/slow').expect(504);
    expect(answer.headers['retry-after']).toBeUndefined();
    expect(answer.body).toEqual({
      statusCode: 504,
      error: 'Gateway Timeout',
      message: expect.stringContaining('50 ms'),
      code: 'TIMEOUT',
      policy: 'Quotes.slow',
      timeoutMs: 50,
    });
    expect(t.app.get(Quotes).aborted).toBe(1);
  });

  it('should retry a named policy through its breaker and serve its fallback when the retries run out', async () => {
    const t = await app();
    const quotes = t.app.get(Quotes);
    await t.http().get('/quote/flaky').expect(200, 'quote flaky');
    expect(quotes.attempts).toBe(3);
    expect(t.breaker('payments').snapshot()).toMatchObject({ failures: 2, successes: 1 });
    quotes.attempts = 0;
    await t.http().get('/quote/down').expect(200, 'cached down (downstream failed)');
    expect(quotes.attempts).toBe(3);
  });

  it('should stream an Observable through a retry, subscribing again after a failure', async () => {
    const t = await app();
    const quotes = t.app.get(Quotes);
    const values: string[] = [];
    await new Promise<void>((resolve, reject) =>
      quotes.stream().subscribe({ next: (v) => values.push(v), error: reject, complete: resolve }),
    );
    expect(values).toEqual(['a', 'b']);
    expect(quotes.attempts).toBe(3);
  });

  it('should run the methods unprotected where no ResilienceModule is initialised', async () => {
    const quotes = new Quotes();
    await expect(quotes.quote('x')).resolves.toBe('quote x');
    const ok = new PoliciesController(quotes);
    for (let i = 0; i < 5; i++) await expect(ok.search()).resolves.toBe('results');
  });
});

describe('a REQUEST-scoped provider', () => {
  afterEach(closeAllApps);

  it('should share one anonymous policy state between its instances', async () => {
    const { Scope } = await import('@nestjs/common');
    @Injectable({ scope: Scope.REQUEST })
    class Scoped {
      @RateLimit({ limit: 1, interval: 60_000 })
      async hit(): Promise<string> {
        return 'hit';
      }
    }
    @Controller()
    class ScopedController {
      constructor(@Inject(Scoped) private readonly scoped: Scoped) {}
      @Get('hit')
      hit(): Promise<string> {
        return this.scoped.hit();
      }
    }
    const t = await createApp({ controllers: [ScopedController], providers: [Scoped] });
    await t.http().get('/hit').expect(200, 'hit');
    await t.http().get('/hit').expect(429);
  });
});

describe('@CircuitBreaker with a policy', () => {
  afterEach(closeAllApps);

  it('should count each retry attempt in the breaker', async () => {
    @Injectable()
    class Stock {
      calls = 0;
      @Retry({ attempts: 2, delay: 1, jitter: 'none' })
      @CircuitBreaker('inventory')
      async stock(): Promise<number> {
        this.calls++;
        throw new Error('down');
      }
    }
    const t = await createApp({ providers: [Stock] }, { breakers: { inventory: { minimumCalls: 100 } } });
    await expect(t.app.get(Stock).stock()).rejects.toThrow('down');
    expect(t.breaker('inventory').snapshot().failures).toBe(3);
  });

  it('should call the method 0 times and count one rejection when the breaker is open', async () => {
    @Injectable()
    class Stock {
      calls = 0;
      @CircuitBreaker('inventory')
      @Retry({ attempts: 3, delay: 1, jitter: 'none' })
      async stock(): Promise<number> {
        this.calls++;
        return 1;
      }
    }
    const t = await createApp({ providers: [Stock] });
    await t.breaker('inventory').trip();
    const stock = t.app.get(Stock);
    await expect(stock.stock()).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    expect(stock.calls).toBe(0);
    expect(t.breaker('inventory').snapshot().rejected).toBe(1);
  });
});
