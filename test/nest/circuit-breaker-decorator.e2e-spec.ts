import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Get,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  Param,
  Scope,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { APP_FILTER, REQUEST, Reflector } from '@nestjs/core';
import { HealthCheck } from '@nestjs/terminus';
// Observable is imported as a value: the decorator reads the declared return type from design:returntype.
import { isObservable, lastValueFrom, Observable, of, toArray } from 'rxjs';
import { BreakerOpenFilter } from '../../src/nest/error-mapping/breaker-open.filter';
import { BreakerTimeoutFilter } from '../../src/nest/error-mapping/breaker-timeout.filter';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { closeAllApps, createApp, type TestApp } from './nest-app.fixture';
import { deferred } from '../core/breaker-test-kit';
import { outlastTimeout } from './slow-call.fixture';

afterEach(closeAllApps);

/** Lets a request through when the handler carries `role: 'ops'` metadata (read with Reflector). */
@Injectable()
class OpsOnlyGuard implements CanActivate {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.get<string>('role', context.getHandler()) !== 'ops') throw new ForbiddenException();
    return true;
  }
}

@Controller('positions')
class PositionsController {
  @CircuitBreaker('above')
  @Get('above')
  above(): string {
    return 'above';
  }

  @Get('below')
  @CircuitBreaker('below')
  below(): string {
    return 'below';
  }

  @UseGuards(OpsOnlyGuard)
  @CircuitBreaker('guard-above-metadata-below')
  @SetMetadata('role', 'ops')
  @Get('guarded')
  guarded(): string {
    return 'guarded';
  }

  @CircuitBreaker('metadata-above')
  @SetMetadata('role', 'ops')
  @UseGuards(OpsOnlyGuard)
  @Get('metadata')
  metadata(): string {
    return 'metadata';
  }

  @UseGuards(OpsOnlyGuard)
  @CircuitBreaker('refused')
  @Get('refused')
  refused(): string {
    return 'never';
  }

  @Get('health-above')
  @HealthCheck()
  @CircuitBreaker('health-above')
  healthAbove(): { status: string } {
    return { status: 'ok' };
  }

  @Get('health-below')
  @CircuitBreaker('health-below')
  @HealthCheck()
  healthBelow(): { status: string } {
    return { status: 'ok' };
  }
}

describe('@CircuitBreaker on controller handlers', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createApp({ controllers: [PositionsController], providers: [OpsOnlyGuard] });
  });

  it.each([
    ['above', 'above'],
    ['below', 'below'],
    ['guarded', 'guard-above-metadata-below'],
    ['metadata', 'metadata-above'],
  ])('should serve /positions/%s and count it on breaker "%s"', async (route, breaker) => {
    await t.http().get(`/positions/${route}`).expect(200, route);
    expect(t.breaker(breaker).snapshot()).toMatchObject({ calls: 1, successes: 1 });
  });

  it.each(['above', 'below', 'guarded', 'metadata'])(
    'should answer 503 on /positions/%s once its breaker is open',
    async (route) => {
      for (const breaker of t.registry.all()) await breaker.trip();
      await t.http().get(`/positions/${route}`).expect(503);
    },
  );

  it('should keep guards working: a refused request never reaches the breaker', async () => {
    await t.http().get('/positions/refused').expect(403);
    expect(t.breaker('refused').snapshot().calls).toBe(0);
  });

  it.each(['above', 'below'])(
    'should keep @HealthCheck headers with the decorator %s it',
    async (position) => {
      const response = await t.http().get(`/positions/health-${position}`).expect(200, { status: 'ok' });
      expect(response.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
      expect(t.breaker(`health-${position}`).snapshot().calls).toBe(1);
    },
  );

  it('should keep the method name and the metadata of other decorators on the wrapper', () => {
    const reflector = t.app.get(Reflector);
    const handler = PositionsController.prototype.metadata;
    expect(handler.name).toBe('metadata');
    expect(reflector.get('role', handler)).toBe('ops');
    expect(reflector.get('role', PositionsController.prototype.guarded)).toBe('ops');
  });
});

@Controller('quotes')
class QuotesController {
  @CircuitBreaker('quotes')
  @Get('fail')
  fail(): never {
    throw new Error('quote API down');
  }

  @CircuitBreaker('quotes')
  @Get('missing')
  missing(): never {
    throw new NotFoundException('no such quote');
  }

  @CircuitBreaker('quotes-with-fallback', { fallback: 'stale' })
  @Get('missing-with-fallback')
  missingWithFallback(): never {
    throw new NotFoundException('no such quote');
  }

  stale(): string {
    return 'stale';
  }
}

describe('503 and client errors', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createApp(
      { controllers: [QuotesController] },
      {
        breakers: {
          quotes: { failureThreshold: 2, openDuration: 30_000 },
          'quotes-with-fallback': { failureThreshold: 1 },
        },
      },
    );
  });

  it('should answer 503 with Retry-After and a JSON body once failures open the breaker', async () => {
    await t.http().get('/quotes/fail').expect(500);
    await t.http().get('/quotes/fail').expect(500);

    const response = await t.http().get('/quotes/fail').expect(503);

    expect(response.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Circuit breaker "quotes" is open and does not permit further calls',
      breaker: 'quotes',
      retryAfterMs: expect.any(Number),
    });
    expect(response.body.retryAfterMs).toBeGreaterThan(29_000);
    expect(response.body.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(response.headers['retry-after']).toBe('30');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  });

  it('should round Retry-After up to whole seconds, at least 1', async () => {
    t = await createApp(
      { controllers: [QuotesController] },
      { breakers: { quotes: { openDuration: 1_500 } } },
    );
    await t.breaker('quotes').trip();
    const response = await t.http().get('/quotes/fail').expect(503);
    expect(response.body.retryAfterMs).toBe(1_500);
    expect(response.headers['retry-after']).toBe('2');
  });

  it('should pass a 404 through and never open the breaker', async () => {
    for (let i = 0; i < 5; i++) await t.http().get('/quotes/missing').expect(404);
    expect(t.breaker('quotes').state).toBe('closed');
    expect(t.breaker('quotes').snapshot().failures).toBe(0);
  });

  it('should pass a 404 through untouched even with a fallback', async () => {
    const response = await t.http().get('/quotes/missing-with-fallback').expect(404);
    expect(response.body.message).toBe('no such quote');
    expect(t.breaker('quotes-with-fallback').state).toBe('closed');
  });
});

@Injectable()
class PricingClient {
  readonly currency = 'EUR';
  fail = false;

  @CircuitBreaker('pricing', { fallback: 'cachedPrice' })
  async price(sku: string): Promise<string> {
    if (this.fail) throw new Error('pricing API down');
    return `${sku}: 10 ${this.currency}`;
  }

  cachedPrice(sku: string, error: Error): string {
    return `${sku}: 9 ${this.currency} (cached, ${error.name})`;
  }

  @CircuitBreaker('pricing-fn', {
    fallback: function (this: PricingClient, sku: string, error: Error) {
      return `${sku}: 8 ${this.currency} (fn, ${error.name})`;
    },
  })
  async priceWithFunction(sku: string): Promise<string> {
    if (this.fail) throw new Error('pricing API down');
    return `${sku}: 10 ${this.currency}`;
  }
}

@Controller('prices')
class PricesController {
  constructor(@Inject(PricingClient) private readonly pricing: PricingClient) {}

  @Get(':sku')
  price(@Param('sku') sku: string): Promise<string> {
    return this.pricing.price(sku);
  }

  @Get(':sku/fn')
  priceWithFunction(@Param('sku') sku: string): Promise<string> {
    return this.pricing.priceWithFunction(sku);
  }
}

describe('fallback', () => {
  let t: TestApp;
  let pricing: PricingClient;
  beforeEach(async () => {
    t = await createApp({ controllers: [PricesController], providers: [PricingClient] });
    pricing = t.app.get(PricingClient);
  });

  it('should not call the fallback while calls succeed', async () => {
    await t.http().get('/prices/a1').expect(200, 'a1: 10 EUR');
  });

  it('should serve a failure with the fallback method, args first and the error last, this bound', async () => {
    pricing.fail = true;
    await t.http().get('/prices/a1').expect(200, 'a1: 9 EUR (cached, Error)');
    expect(t.breaker('pricing').snapshot().failures).toBe(1);
  });

  it('should serve a rejection with the fallback method', async () => {
    await t.breaker('pricing').trip();
    await t.http().get('/prices/a1').expect(200, 'a1: 9 EUR (cached, BreakerOpenError)');
  });

  it('should serve failures and rejections with a fallback function, this bound', async () => {
    pricing.fail = true;
    await t.http().get('/prices/a1/fn').expect(200, 'a1: 8 EUR (fn, Error)');
    await t.breaker('pricing-fn').trip();
    await t.http().get('/prices/a1/fn').expect(200, 'a1: 8 EUR (fn, BreakerOpenError)');
  });
});

@Injectable()
class CatalogClient {
  calls = 0;

  @CircuitBreaker('catalog')
  async product(id: string): Promise<string> {
    this.calls++;
    if (id === 'broken') throw new Error('catalog down');
    return `product ${id}`;
  }

  @CircuitBreaker('catalog-stream', { fallback: () => of('fallback') })
  products(...ids: string[]): Observable<string> {
    this.calls++;
    return of(...ids.map((id) => `product ${id}`));
  }

  @CircuitBreaker('catalog-sync')
  sum(a: number, b: number): number {
    this.calls++;
    return a + b;
  }

  @CircuitBreaker('catalog-undeclared')
  // No declared return type on purpose: design:returntype does not say Observable.
  undeclared() {
    return of('first', 'last');
  }

  @CircuitBreaker('hosts', { key: (host: string) => host })
  async fetchFrom(host: string): Promise<string> {
    return `from ${host}`;
  }
}

@Controller('catalog')
class CatalogController {
  constructor(@Inject(CatalogClient) private readonly catalog: CatalogClient) {}

  @CircuitBreaker('catalog')
  @Get('products/:id')
  product(@Param('id') id: string): Promise<string> {
    return this.catalog.product(id);
  }

  @CircuitBreaker()
  @Get('stream')
  stream(): Observable<string> {
    return this.catalog.products('a', 'b');
  }
}

describe('return types, keys and nesting', () => {
  let t: TestApp;
  let catalog: CatalogClient;
  beforeEach(async () => {
    t = await createApp({ controllers: [CatalogController], providers: [CatalogClient] });
    catalog = t.app.get(CatalogClient);
  });

  it('should keep an Observable method an Observable, admitted when subscribed to', async () => {
    const products = catalog.products('a', 'b');
    expect(isObservable(products)).toBe(true);
    expect(catalog.calls).toBe(0);
    await expect(lastValueFrom(products.pipe(toArray()))).resolves.toEqual(['product a', 'product b']);
    expect(t.breaker('catalog-stream').snapshot()).toMatchObject({ calls: 1, successes: 1 });
  });

  it('should serve an Observable method from its fallback once its breaker is open', async () => {
    await t.breaker('catalog-stream').trip();
    await expect(lastValueFrom(catalog.products('a').pipe(toArray()))).resolves.toEqual(['fallback']);
    expect(catalog.calls).toBe(0);
  });

  it('should run a sync method through the breaker and return a Promise of its result', async () => {
    const result: unknown = catalog.sum(1, 2);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBe(3);
    await t.breaker('catalog-sync').trip();
    const rejected: unknown = catalog.sum(1, 2);
    await expect(rejected).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
  });

  it('should resolve an Observable from a method without a declared return type to its last value, and say so once', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const first: unknown = catalog.undeclared();
    expect(first).toBeInstanceOf(Promise);
    await expect(first).resolves.toBe('last');
    await expect(catalog.undeclared()).resolves.toBe('last');
    expect(warn.mock.calls).toEqual([
      [
        expect.stringContaining(
          'CatalogClient.undeclared (breaker "catalog-undeclared") returned an Observable',
        ),
      ],
    ]);
    expect(t.breaker('catalog-undeclared').snapshot().calls).toBe(2);
    warn.mockRestore();
  });

  it('should name the breaker of a handler decorated without a name Controller.handler', async () => {
    await t.http().get('/catalog/stream').expect(200);
    expect(t.registry.has('CatalogController.stream')).toBe(true);
    expect(t.breaker('catalog-stream').snapshot().calls).toBe(1);
  });

  it('should keep one breaker per key', async () => {
    await expect(catalog.fetchFrom('a.example')).resolves.toBe('from a.example');
    await t.breaker('hosts', 'b.example').trip();

    await expect(catalog.fetchFrom('b.example')).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    await expect(catalog.fetchFrom('a.example')).resolves.toBe('from a.example');
    expect(t.breaker('hosts', 'a.example').name).toBe('hosts#a.example');
    expect(t.breaker('hosts', 'a.example').snapshot().calls).toBe(2);
    expect(t.registry.has('hosts')).toBe(false);
  });

  it('should fail a call whose key function returns no key, without running it through the breaker of the name', async () => {
    const noKey = catalog.fetchFrom(undefined as unknown as string);

    await expect(noKey).rejects.toMatchObject({ code: 'INVALID_BREAKER_KEY', breaker: 'hosts' });
    expect(t.registry.has('hosts')).toBe(false);
    expect(t.registry.all().filter((b) => b.name.startsWith('hosts'))).toEqual([]);
  });

  it('should keep one breaker for the key 5 and the key "5"', async () => {
    await catalog.fetchFrom(5 as unknown as string);
    await catalog.fetchFrom('5');

    expect(t.breaker('hosts', '5').snapshot()).toMatchObject({ name: 'hosts#5', calls: 2 });
    expect(t.registry.all().filter((b) => b.name.startsWith('hosts'))).toHaveLength(1);
  });

  it('should count a call once when a handler and the method it calls share a breaker', async () => {
    await t.http().get('/catalog/products/1').expect(200, 'product 1');
    await t.http().get('/catalog/products/broken').expect(500);
    expect(t.breaker('catalog').snapshot()).toMatchObject({ calls: 2, successes: 1, failures: 1 });
  });

  it('should reject at the outer breaker before the inner method runs', async () => {
    await t.breaker('catalog').trip();
    await t.http().get('/catalog/products/1').expect(503);
    expect(catalog.calls).toBe(0);
  });
});

class BaseInventoryClient {
  @CircuitBreaker('inventory')
  async stock(sku: string): Promise<number> {
    return sku.length;
  }
}

@Injectable()
class InventoryClient extends BaseInventoryClient {}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedClient {
  constructor(@Inject(REQUEST) private readonly request: { headers: Record<string, string> }) {}

  @CircuitBreaker('scoped')
  async whoAsks(): Promise<string> {
    return this.request.headers['x-user'] ?? 'anonymous';
  }
}

@Controller('misc')
class MiscController {
  constructor(
    @Inject(InventoryClient) private readonly inventory: InventoryClient,
    @Inject(RequestScopedClient) private readonly scoped: RequestScopedClient,
  ) {}

  @Get('stock/:sku')
  async stock(@Param('sku') sku: string): Promise<string> {
    return String(await this.inventory.stock(sku));
  }

  @Get('who')
  who(): Promise<string> {
    return this.scoped.whoAsks();
  }
}

describe('inherited methods and REQUEST scope', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createApp({ controllers: [MiscController], providers: [InventoryClient, RequestScopedClient] });
  });

  it('should protect a method a provider inherits', async () => {
    await t.http().get('/misc/stock/abc').expect(200, '3');
    expect(t.breaker('inventory').snapshot().calls).toBe(1);
  });

  it('should protect a method of a REQUEST-scoped provider', async () => {
    await t.http().get('/misc/who').set('x-user', 'alice').expect(200, 'alice');
    await t.http().get('/misc/who').set('x-user', 'bob').expect(200, 'bob');
    expect(t.breaker('scoped').snapshot().calls).toBe(2);
  });

  it('should answer 503 when a provider-level rejection reaches an undecorated route', async () => {
    await t.breaker('inventory').trip();
    const response = await t.http().get('/misc/stock/abc').expect(503);
    expect(response.body.breaker).toBe('inventory');
  });

  it('should still answer 503 through BreakerOpenFilter registered globally with mapErrors off', async () => {
    const app = await createApp(
      {
        controllers: [MiscController],
        providers: [
          InventoryClient,
          RequestScopedClient,
          { provide: APP_FILTER, useClass: BreakerOpenFilter },
        ],
      },
      { mapErrors: false },
    );
    await app.breaker('scoped').trip();
    const response = await app.http().get('/misc/who').expect(503);
    expect(response.body.breaker).toBe('scoped');
    expect(response.headers['retry-after']).toBe('30');
  });
});

@Injectable()
class ReportsClient {
  @CircuitBreaker('reports')
  async build(): Promise<string> {
    return outlastTimeout();
  }
}

@Controller('timeouts')
class TimeoutsController {
  constructor(@Inject(ReportsClient) private readonly reports: ReportsClient) {}

  @CircuitBreaker('slow')
  @Get('slow')
  slow(): Promise<string> {
    return outlastTimeout();
  }

  @CircuitBreaker('slow-with-fallback', { fallback: 'cached' })
  @Get('slow-with-fallback')
  slowWithFallback(): Promise<string> {
    return outlastTimeout();
  }

  cached(error: Error): string {
    return `cached (${error.name})`;
  }

  @Get('report')
  report(): Promise<string> {
    return this.reports.build();
  }
}

@CircuitBreaker('slow-controller')
@Controller('slow-controller')
class SlowController {
  @Get()
  slow(): Promise<string> {
    return outlastTimeout();
  }
}

describe('504 on timeouts', () => {
  const timeouts = { defaults: { timeout: 20 } };
  let t: TestApp;
  beforeEach(async () => {
    t = await createApp(
      { controllers: [TimeoutsController, SlowController], providers: [ReportsClient] },
      timeouts,
    );
  });

  it('should answer 504 with a JSON body and no Retry-After when a handler outlasts its timeout', async () => {
    const response = await t.http().get('/timeouts/slow').expect(504);

    expect(response.body).toEqual({
      statusCode: 504,
      error: 'Gateway Timeout',
      message: 'Circuit breaker "slow": call timed out after 20 ms',
      breaker: 'slow',
      timeoutMs: 20,
    });
    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  });

  it('should answer 504 on a route of a controller decorated as a whole', async () => {
    const response = await t.http().get('/slow-controller').expect(504);
    expect(response.body).toMatchObject({ statusCode: 504, breaker: 'slow-controller', timeoutMs: 20 });
  });

  it('should serve a timeout with the fallback', async () => {
    await t.http().get('/timeouts/slow-with-fallback').expect(200, 'cached (BreakerTimeoutError)');
  });

  it('should map a provider timeout and rejection on an undecorated route to 504 and 503 with both APP_FILTERs and mapErrors off', async () => {
    const app = await createApp(
      {
        controllers: [TimeoutsController],
        providers: [
          ReportsClient,
          { provide: APP_FILTER, useClass: BreakerOpenFilter },
          { provide: APP_FILTER, useClass: BreakerTimeoutFilter },
        ],
      },
      { ...timeouts, mapErrors: false },
    );

    const timedOut = await app.http().get('/timeouts/report').expect(504);
    expect(timedOut.body).toMatchObject({ statusCode: 504, breaker: 'reports', timeoutMs: 20 });
    expect(timedOut.headers['retry-after']).toBeUndefined();

    await app.breaker('reports').trip();
    const rejected = await app.http().get('/timeouts/report').expect(503);
    expect(rejected.body).toMatchObject({ statusCode: 503, breaker: 'reports' });
  });
});

/** Sends a mail and, as fire-and-forget background work, a receipt when the test opens `gate`. */
@Injectable()
class MailerClient {
  sent: string[] = [];
  gate = deferred<void>();
  background: Promise<unknown> | undefined;

  @CircuitBreaker('mailer')
  async send(to: string): Promise<string> {
    this.sent.push(to);
    if (to !== 'receipt') this.background = this.gate.promise.then(() => this.send('receipt'));
    return 'sent';
  }
}

@Controller('mail')
class MailController {
  constructor(@Inject(MailerClient) private readonly mailer: MailerClient) {}

  @Get(':to')
  @CircuitBreaker('mailer')
  send(@Param('to') to: string): Promise<string> {
    return this.mailer.send(to);
  }
}

describe('@CircuitBreaker and work a call leaves running', () => {
  it('should judge background work that runs after the request as a call of its own', async () => {
    const t = await createApp({ controllers: [MailController], providers: [MailerClient] });
    const mailer = t.app.get(MailerClient);
    await t.http().get('/mail/alice').expect(200, 'sent');
    await t.breaker('mailer').trip('mail server down');

    mailer.gate.resolve();

    await expect(mailer.background).rejects.toMatchObject({ code: 'BREAKER_OPEN', breaker: 'mailer' });
    expect(mailer.sent).toEqual(['alice']);
    expect(t.breaker('mailer').snapshot()).toMatchObject({ calls: 1, rejected: 1 });
  });
});

describe('a breaker named close to a configured one', () => {
  @Injectable()
  class Typos {
    @CircuitBreaker('paymnets')
    async charge(): Promise<string> {
      return 'charged';
    }

    @CircuitBreaker('inventory')
    async stock(): Promise<string> {
      return 'in stock';
    }

    @CircuitBreaker('Payments', { key: (id: string) => id })
    async refund(id: string): Promise<string> {
      return id;
    }
  }

  it('should warn once per name at boot, naming the configured one, and build it from the defaults', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const t = await createApp(
      { providers: [Typos] },
      {
        breakers: { payments: { failureThreshold: 1 }, inventory: {} },
        policies: { refunds: { breaker: 'paymens' } },
      },
    );
    const not = 'which is not configured (it gets the defaults); did you mean "payments"?';
    expect(warn.mock.calls.map(([message]) => message as string).sort()).toEqual([
      `@CircuitBreaker on Typos.charge names circuit breaker "paymnets", ${not}`,
      `@CircuitBreaker on Typos.refund names circuit breaker "Payments", ${not}`,
      `policy "refunds" names circuit breaker "paymens", ${not}`,
    ]);
    expect(t.breaker('paymnets').options.failureThreshold).toBe(5);
    warn.mockRestore();
  });
});

describe('a per-key breaker whose name no breaker can have', () => {
  afterEach(closeAllApps);

  @Injectable()
  class Hosts {
    @CircuitBreaker('hosts#internal', { key: (host: string) => host })
    async fetchFrom(host: string): Promise<string> {
      return host;
    }
  }

  it('should fail the boot, naming it, rather than every call', async () => {
    await expect(createApp({ providers: [Hosts] })).rejects.toMatchObject({
      code: 'INVALID_BREAKER_OPTIONS',
      breaker: 'hosts#internal',
    });
  });
});
