/**
 * Everything the README promises of HTTP routes, on `@nestjs/platform-fastify` over real HTTP:
 * the answers to rejections and timeouts, policies, the opt-in filters and an app's own
 * filter, keys from requests, SSE, health and metrics. The other e2e suites run on Express.
 */
import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  Get,
  Headers,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Ip,
  Logger,
  type MessageEvent,
  type MiddlewareConsumer,
  Module,
  type NestMiddleware,
  type NestModule,
  Param,
  Query,
  Res,
  Sse,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { concatMap, from, type Observable } from 'rxjs';
import { BreakerRegistry } from '../../src/core/registry';
import { getCallSignal } from '../../src/nest/breaker-call';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { CircuitBreakerInterceptor } from '../../src/nest/circuit-breaker.interceptor';
import { BreakerOpenFilter } from '../../src/nest/error-mapping/breaker-open.filter';
import { BreakerTimeoutFilter } from '../../src/nest/error-mapping/breaker-timeout.filter';
import { ResilienceErrorsFilter } from '../../src/nest/error-mapping/resilience-errors.filter';
import { Bulkhead, RateLimit, Resilient, Timeout } from '../../src/nest/policy.decorators';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { HealthModule } from '../terminus/health-app.fixture';
import { Scrape } from './metrics-scrape';
import { closeAllApps, createApp, type TestApp } from './nest-app.fixture';
import { outlastTimeout } from './slow-call.fixture';

const fastify = () => new FastifyAdapter();

/** Holds the exports running until released, to fill a bulkhead. */
const exportJobs = {
  running: 0,
  release: (): void => undefined,
  held: Promise.resolve(),
  hold(): Promise<void> {
    this.running++;
    return this.held;
  },
  block(): void {
    this.held = new Promise((resolve) => (this.release = resolve));
  },
};

@Injectable()
class PaymentsClient {
  @CircuitBreaker('payments')
  async quote(): Promise<string> {
    return 'quote';
  }

  @CircuitBreaker('reports')
  async report(): Promise<string> {
    return outlastTimeout();
  }

  @Resilient('checkout')
  async pay(): Promise<string> {
    return 'paid';
  }
}

@Controller()
class ShopController {
  constructor(@Inject(PaymentsClient) private readonly payments: PaymentsClient) {}

  @Get('quote')
  quote(): Promise<string> {
    return this.payments.quote();
  }

  @Get('report')
  report(): Promise<string> {
    return this.payments.report();
  }

  @CircuitBreaker('orders')
  @Get('orders')
  async orders(): Promise<string> {
    return 'orders';
  }

  @Get('pay')
  pay(): Promise<string> {
    return this.payments.pay();
  }

  /** A route that writes its own reply, as Fastify apps do with `@Res()`. */
  @CircuitBreaker('raw')
  @Get('raw')
  async raw(@Res() reply: FastifyReply): Promise<void> {
    await reply.status(200).send({ raw: true });
  }

  @RateLimit({ limit: 1, interval: 60_000 })
  @Get('search')
  async search(): Promise<string> {
    return 'results';
  }

  @Bulkhead({ maxConcurrent: 1 })
  @Get('export')
  async export(): Promise<string> {
    await exportJobs.hold();
    return 'exported';
  }

  @Timeout(20)
  @Get('slow')
  async slow(): Promise<string> {
    return new Promise((resolve) => getCallSignal()?.addEventListener('abort', () => resolve('late')));
  }

  @Get('not-found')
  notFound(): never {
    throw new HttpException('no such thing', HttpStatus.NOT_FOUND);
  }
}

@UseInterceptors(CircuitBreakerInterceptor.for('inventory'))
@Controller('inventory')
class InventoryController {
  @Get()
  list(): string {
    return 'stock';
  }
}

/** Per-key breakers and rate limits whose keys come straight from the request. */
@Controller('keyed')
class KeyedController {
  @CircuitBreaker('hosts', { key: (host: string) => host })
  @Get('hosts/:host')
  async host(@Param('host') host: string): Promise<string> {
    return `proxied to ${host}`;
  }

  @CircuitBreaker('tenants', { key: (tenant: string | undefined) => tenant as string })
  @Get('tenant')
  async tenant(@Headers('x-tenant') tenant: string | undefined): Promise<string> {
    return `tenant ${tenant}`;
  }

  @CircuitBreaker('regions', { key: (region: unknown) => region as string })
  @Get('region')
  async region(@Query('region') region: unknown): Promise<string> {
    return `region ${String(region)}`;
  }

  @RateLimit({ limit: 100, interval: 60_000, key: (ip: string) => ip })
  @Get('ip')
  async ip(@Ip() ip: string): Promise<string> {
    return `hello ${ip}`;
  }
}

/** One breaker per tenant for every route of the app, the tenant from a header. */
@Injectable()
class TenantInterceptor extends CircuitBreakerInterceptor {
  protected override breakerKey(context: ExecutionContext): string | undefined {
    return context.switchToHttp().getRequest<FastifyRequest>().headers['x-tenant'] as string | undefined;
  }
}

/** An app's own catch-all filter as a Fastify app writes it: on the reply itself. */
@Catch()
class FastifyCatchAllFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const status =
      exception instanceof HttpException ? exception.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(status)
      .send({
        statusCode: status,
        caughtBy: 'FastifyCatchAllFilter',
        detail: exception instanceof HttpException ? exception.getResponse() : String(exception),
      });
  }
}

/** A dependency that guards and middleware call before any interceptor runs. */
@Injectable()
class Gatekeeper {
  @CircuitBreaker('auth')
  async check(): Promise<boolean> {
    return true;
  }
}

@Injectable()
class GatekeeperGuard implements CanActivate {
  constructor(@Inject(Gatekeeper) private readonly gatekeeper: Gatekeeper) {}

  canActivate(): Promise<boolean> {
    return this.gatekeeper.check();
  }
}

@Injectable()
class GatekeeperMiddleware implements NestMiddleware {
  constructor(@Inject(Gatekeeper) private readonly gatekeeper: Gatekeeper) {}

  async use(_request: unknown, _response: unknown, next: () => void): Promise<void> {
    await this.gatekeeper.check();
    next();
  }
}

@Controller('gated')
class GatedController {
  @UseGuards(GatekeeperGuard)
  @Get('guard')
  guarded(): string {
    return 'in';
  }

  @Get('middleware')
  behindMiddleware(): string {
    return 'in';
  }
}

@Module({ controllers: [GatedController], providers: [Gatekeeper, GatekeeperGuard] })
class GatedModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(GatekeeperMiddleware).forRoutes('gated/middleware');
  }
}

const controllers = [ShopController, InventoryController, KeyedController];

function start(
  options: ResilienceModuleRootOptions = {},
  { providers = [] }: { providers?: unknown[] } = {},
): Promise<TestApp> {
  return createApp(
    { controllers, providers: [PaymentsClient, ...(providers as [])] },
    {
      breakers: { reports: { timeout: 20 } },
      policies: { checkout: { rateLimit: { limit: 1, interval: 60_000 } } },
      ...options,
    },
    { adapter: fastify },
  );
}

const openBody = (breaker: string) => ({
  statusCode: 503,
  error: 'Service Unavailable',
  message: `Circuit breaker "${breaker}" is forced_open and does not permit further calls`,
  breaker,
  retryAfterMs: 30_000,
});

const timeoutBody = {
  statusCode: 504,
  error: 'Gateway Timeout',
  message: 'Circuit breaker "reports": call timed out after 20 ms',
  breaker: 'reports',
  timeoutMs: 20,
};

const keyBody = (breaker: string, key: string) => ({
  statusCode: 400,
  error: 'Bad Request',
  message: `Invalid key for circuit breaker "${breaker}": ${key}; expected a string or a number, at most 256 characters long`,
  breaker,
  expected: 'a string or a number, at most 256 characters long',
});

let errors: jest.SpyInstance;

beforeEach(() => {
  errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
});

afterEach(async () => {
  await closeAllApps();
  errors.mockRestore();
});

describe('on Fastify, a breaker that rejects or times out a route', () => {
  it.each([
    ['a decorated provider method called from a plain route', '/quote', 'payments'],
    ['a decorated route handler', '/orders', 'orders'],
    ['a route behind CircuitBreakerInterceptor', '/inventory', 'inventory'],
    ['a decorated @Res() route that writes its own reply', '/raw', 'raw'],
  ])('should answer 503 with Retry-After and the body, for %s', async (_, path, breaker) => {
    const t = await start();
    await t.http().get(path).expect(200);
    await t.breaker(breaker).trip();

    const response = await t.http().get(path).expect(503);

    expect(response.headers['retry-after']).toBe('30');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual(openBody(breaker));
    expect(errors).not.toHaveBeenCalled();
  });

  it('should answer 504 without Retry-After for a call that outlasts its timeout', async () => {
    const t = await start();

    const response = await t.http().get('/report').expect(504);

    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.body).toEqual(timeoutBody);
    expect(errors).not.toHaveBeenCalled();
  });

  it('should leave every other error as it was', async () => {
    const t = await start();
    const response = await t.http().get('/not-found').expect(404);
    expect(response.body).toEqual({ statusCode: 404, message: 'no such thing' });
  });

  it("should hand an app's own catch-all filter, writing on the reply, a 503 with Retry-After set and a 504", async () => {
    const t = await start({}, { providers: [{ provide: APP_FILTER, useClass: FastifyCatchAllFilter }] });
    await t.breaker('payments').trip();

    const open = await t.http().get('/quote').expect(503);
    expect(open.headers['retry-after']).toBe('30');
    expect(open.body).toEqual({
      statusCode: 503,
      caughtBy: 'FastifyCatchAllFilter',
      detail: openBody('payments'),
    });

    const timeout = await t.http().get('/report').expect(504);
    expect(timeout.body).toEqual({ statusCode: 504, caughtBy: 'FastifyCatchAllFilter', detail: timeoutBody });
  });

  it('should end an SSE stream with the rejection as its error event', async () => {
    @Injectable()
    class Prices {
      @CircuitBreaker('prices')
      async price(i: number): Promise<number> {
        return i * 10;
      }
    }
    @Controller('prices')
    class PricesController {
      constructor(
        @Inject(Prices) private readonly prices: Prices,
        @Inject(BreakerRegistry) private readonly registry: BreakerRegistry,
      ) {}

      @Sse()
      events(): Observable<MessageEvent> {
        return from([0, 1]).pipe(
          concatMap(async (i) => {
            if (i === 1) await this.registry.get('prices').trip('mid-stream');
            return { data: `price ${await this.prices.price(i)}` };
          }),
        );
      }
    }
    const t = await createApp(
      { controllers: [PricesController], providers: [Prices] },
      {},
      { adapter: fastify },
    );

    const response = await t.http().get('/prices').expect(200);

    expect(response.text).toContain('data: price 0');
    expect(response.text).toMatch(/event: error\nid: 2\ndata: Circuit breaker "prices" is forced_open/);
    expect(errors).not.toHaveBeenCalled();
  });

  it('should stream an SSE route behind CircuitBreakerInterceptor, recording its outcome when it ends', async () => {
    @UseInterceptors(CircuitBreakerInterceptor.for('ticker'))
    @Controller('ticker')
    class TickerController {
      @Sse()
      ticks(): Observable<MessageEvent> {
        return from([1, 2, 3]).pipe(concatMap(async (i) => ({ data: `tick ${i}` })));
      }
    }
    const t = await createApp({ controllers: [TickerController] }, {}, { adapter: fastify });

    const response = await t.http().get('/ticker').expect(200);

    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(response.text.match(/data: tick \d/g)).toEqual(['data: tick 1', 'data: tick 2', 'data: tick 3']);
    expect(t.breaker('ticker').snapshot()).toMatchObject({ calls: 1, successes: 1 });
    await t.breaker('ticker').trip();
    expect((await t.http().get('/ticker').expect(503)).body).toEqual(openBody('ticker'));
  });
});

describe('on Fastify, policies', () => {
  it('should answer 429 with Retry-After for a rate limit, of a decorator and of a named policy', async () => {
    const t = await start();
    for (const [path, policy] of [
      ['/search', 'ShopController.search'],
      ['/pay', 'checkout'],
    ]) {
      await t.http().get(path).expect(200);
      const refused = await t.http().get(path).expect(429);
      expect(refused.headers['retry-after']).toBe('60');
      expect(refused.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringContaining('rate limit'),
        code: 'RATE_LIMITED',
        policy,
        retryAfterMs: expect.any(Number),
      });
    }
  });

  it('should answer 503 with Retry-After: 1 while the bulkhead is full', async () => {
    const t = await start();
    const server = t.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    exportJobs.block();
    const first = t
      .http()
      .get('/export')
      .then((r) => r);
    while (exportJobs.running === 0) await new Promise((resolve) => setImmediate(resolve));

    const refused = await t.http().get('/export').expect(503);

    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      code: 'BULKHEAD_FULL',
      policy: 'ShopController.export',
    });
    exportJobs.release();
    expect((await first).status).toBe(200);
  });

  it('should answer 504 without Retry-After when a total timeout elapses', async () => {
    const t = await start();

    const response = await t.http().get('/slow').expect(504);

    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.body).toMatchObject({ statusCode: 504, code: 'TIMEOUT', policy: 'ShopController.slow' });
  });
});

describe('on Fastify, the opt-in filters', () => {
  it('should answer every resilience error through ResilienceErrorsFilter, with mapErrors: false', async () => {
    const t = await start(
      { mapErrors: false },
      { providers: [{ provide: APP_FILTER, useClass: ResilienceErrorsFilter }] },
    );
    await t.breaker('orders').trip();

    const open = await t.http().get('/orders').expect(503);
    expect(open.headers['retry-after']).toBe('30');
    expect(open.body).toEqual(openBody('orders'));
    expect((await t.http().get('/report').expect(504)).body).toEqual(timeoutBody);
    await t.http().get('/search').expect(200);
    const limited = await t.http().get('/search').expect(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect((await t.http().get('/keyed/tenant').expect(400)).body).toEqual(
      keyBody('tenants', 'a value of type undefined'),
    );
    expect(errors).not.toHaveBeenCalled();
  });

  it('should answer a rejection in a guard or a middleware through ResilienceErrorsFilter', async () => {
    const t = await createApp(
      { imports: [GatedModule], providers: [{ provide: APP_FILTER, useClass: ResilienceErrorsFilter }] },
      {},
      { adapter: fastify },
    );
    for (const path of ['/gated/guard', '/gated/middleware']) await t.http().get(path).expect(200, 'in');
    await t.breaker('auth').trip();

    for (const path of ['/gated/guard', '/gated/middleware']) {
      const response = await t.http().get(path).expect(503);
      expect(response.headers['retry-after']).toBe('30');
      expect(response.body).toEqual(openBody('auth'));
    }
    expect(errors).not.toHaveBeenCalled();
  });

  it('should answer with BreakerOpenFilter and BreakerTimeoutFilter, with mapErrors: false', async () => {
    const t = await start(
      { mapErrors: false },
      {
        providers: [
          { provide: APP_FILTER, useClass: BreakerOpenFilter },
          { provide: APP_FILTER, useClass: BreakerTimeoutFilter },
        ],
      },
    );
    await t.breaker('payments').trip();

    const open = await t.http().get('/quote').expect(503);
    expect(open.headers['retry-after']).toBe('30');
    expect(open.body).toEqual(openBody('payments'));
    expect((await t.http().get('/report').expect(504)).body).toEqual(timeoutBody);
  });
});

describe('on Fastify, a key from the request', () => {
  it('should answer 400 for a header key that is missing or too long, creating no breaker', async () => {
    const t = await start();

    expect((await t.http().get('/keyed/tenant').expect(400)).body).toEqual(
      keyBody('tenants', 'a value of type undefined'),
    );
    expect((await t.http().get('/keyed/tenant').set('x-tenant', 't'.repeat(257)).expect(400)).body).toEqual(
      keyBody('tenants', 'a string of 257 characters'),
    );
    await t.http().get('/keyed/tenant').set('x-tenant', 'acme').expect(200, 'tenant acme');
    expect(keyedNames(t)).toEqual(['tenants#acme']);
  });

  it('should answer 400 for a query key that is an array or an object', async () => {
    const t = await start();

    for (const [query, key] of [
      ['region=a&region=b', 'a value of type object'],
      // Fastify's query parser makes no objects: region[a] is a name of its own.
      ['region[a]=1', 'a value of type undefined'],
    ])
      expect((await t.http().get(`/keyed/region?${query}`).expect(400)).body).toEqual(
        keyBody('regions', key),
      );
    await t.http().get('/keyed/region?region=eu').expect(200, 'region eu');
    expect(keyedNames(t)).toEqual(['regions#eu']);
  });

  it('should refuse a path parameter key over 100 characters with 414 (Fastify), and one over 256 with 400', async () => {
    const t = await start();
    await t
      .http()
      .get(`/keyed/hosts/${'h'.repeat(101)}`)
      .expect(414);

    const wide = await createApp(
      { controllers, providers: [PaymentsClient] },
      { policies: { checkout: {} } },
      { adapter: () => new FastifyAdapter({ maxParamLength: 1_000 }) },
    );
    await wide
      .http()
      .get(`/keyed/hosts/${'h'.repeat(101)}`)
      .expect(200);
    expect(
      (
        await wide
          .http()
          .get(`/keyed/hosts/${'h'.repeat(300)}`)
          .expect(400)
      ).body,
    ).toEqual(keyBody('hosts', 'a string of 300 characters'));
    expect(keyedNames(t)).toEqual([]);
  });

  it('should keep a path parameter key to its own breaker, a # in it included', async () => {
    const t = await start();
    await t.breaker('hosts').trip();

    await t
      .http()
      .get(`/keyed/hosts/${encodeURIComponent('a#b')}`)
      .expect(200, 'proxied to a#b');
    expect(keyedNames(t)).toEqual(['hosts#a#b']);
    expect(t.breaker('hosts').state).toBe('forced_open');
  });

  it("should answer 400 for a key from an app-wide CircuitBreakerInterceptor's breakerKey()", async () => {
    const t = await start({}, { providers: [{ provide: APP_INTERCEPTOR, useClass: TenantInterceptor }] });

    const response = await t.http().get('/quote').set('x-tenant', 't'.repeat(257)).expect(400);

    expect(response.body).toEqual(keyBody('ShopController.quote', 'a string of 257 characters'));
  });

  it('should answer 400 for a rate limit keyed by an ip a proxy header forged', async () => {
    const t = await createApp(
      { controllers, providers: [PaymentsClient] },
      { policies: { checkout: {} } },
      { adapter: () => new FastifyAdapter({ trustProxy: true }) },
    );

    await t.http().get('/keyed/ip').set('x-forwarded-for', '203.0.113.7').expect(200, 'hello 203.0.113.7');
    const refused = await t.http().get('/keyed/ip').set('x-forwarded-for', 'x'.repeat(300)).expect(400);

    expect(refused.body).toMatchObject({ code: 'INVALID_RATE_LIMIT_KEY', policy: 'KeyedController.ip' });
  });
});

describe('on Fastify, health and metrics', () => {
  it('should serve the Terminus readiness check and the Prometheus scrape', async () => {
    const t = await createApp(
      {
        imports: [PrometheusModule.register({ defaultMetrics: { enabled: false } }), HealthModule],
        controllers,
        providers: [PaymentsClient],
      },
      { metrics: {}, breakers: { payments: { critical: true } }, policies: { checkout: {} } },
      { adapter: fastify },
    );
    await t.http().get('/health/ready').expect(200);
    await t.breaker('payments').trip();

    const health = await t.http().get('/health/ready').expect(503);
    expect(health.body.details.circuit_breakers).toMatchObject({
      status: 'down',
      breakers: { payments: { state: 'forced_open', critical: true } },
    });
    await t.http().get('/health/live').expect(200);

    const metrics = await t.http().get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    const scrape = new Scrape(metrics.text);
    expect(scrape.value('circuit_breaker_state', { breaker: 'payments', state: 'forced_open' })).toBe(1);
  });
});

function keyedNames(t: TestApp): string[] {
  return t.registry
    .all()
    .filter((b) => b.perKey !== undefined)
    .map((b) => b.name);
}
