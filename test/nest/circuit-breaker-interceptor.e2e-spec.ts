import {
  type ArgumentsHost,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  Get,
  HttpException,
  Inject,
  Injectable,
  type MessageEvent,
  NotFoundException,
  Param,
  Sse,
  UseInterceptors,
} from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
// Observable is imported as a value: the decorator reads the declared return type from design:returntype.
import { Observable, of } from 'rxjs';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { CircuitBreakerInterceptor } from '../../src/nest/circuit-breaker.interceptor';
import { closeAllApps, createApp, type TestApp } from './nest-app.fixture';
import { outlastTimeout } from './slow-call.fixture';

afterEach(closeAllApps);

@UseInterceptors(CircuitBreakerInterceptor)
@Controller('orders')
class OrdersController {
  @Get()
  list(): string[] {
    return ['o1'];
  }

  @Get('missing')
  missing(): never {
    throw new NotFoundException();
  }

  @Get('broken')
  broken(): never {
    throw new Error('orders DB down');
  }

  @Sse('events')
  events(): Observable<MessageEvent> {
    return of({ data: 'created' }, { data: 'paid' });
  }
}

@UseInterceptors(CircuitBreakerInterceptor.for('inventory'))
@Controller('inventory')
class InventoryController {
  @Get('stock')
  stock(): number {
    return 3;
  }

  @Get('reserved')
  reserved(): number {
    return 1;
  }
}

/** One breaker per tenant on each route, the tenant from a request header. */
@Injectable()
class TenantInterceptor extends CircuitBreakerInterceptor {
  protected override breakerKey(context: ExecutionContext): string {
    const tenant = context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers[
      'x-tenant'
    ];
    return tenant ?? 'none';
  }
}

@UseInterceptors(TenantInterceptor)
@Controller('statements')
class StatementsController {
  @Get()
  list(): string[] {
    throw new Error('statements DB down');
  }
}

describe('CircuitBreakerInterceptor', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createApp(
      { controllers: [OrdersController, InventoryController, StatementsController] },
      { defaults: { failureThreshold: 1 } },
    );
  });

  it('should give each key from breakerKey(context) its own per-key breaker of the route', async () => {
    await t.http().get('/statements').set('x-tenant', 'acme').expect(500);
    await t.http().get('/statements').set('x-tenant', 'acme').expect(503);
    await t.http().get('/statements').set('x-tenant', 'StatementsController.list').expect(500);

    expect(t.breaker('StatementsController.list', 'acme').state).toBe('open');
    expect(t.registry.has('StatementsController.list')).toBe(false);
    expect(t.registry.all().map((b) => b.name)).toEqual(
      expect.arrayContaining([
        'StatementsController.list#acme',
        'StatementsController.list#StatementsController.list',
      ]),
    );
  });

  it('should give each route its own breaker named Controller.handler', async () => {
    await t.http().get('/orders').expect(200, ['o1']);
    expect(t.breaker('OrdersController.list').snapshot()).toMatchObject({ calls: 1, successes: 1 });
    expect(t.registry.has('OrdersController.broken')).toBe(false);
  });

  it('should answer 503 with Retry-After on the route whose breaker is open, and only there', async () => {
    await t.http().get('/orders/broken').expect(500);
    const response = await t.http().get('/orders/broken').expect(503);
    expect(response.body).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      breaker: 'OrdersController.broken',
    });
    expect(response.headers['retry-after']).toBe('30');
    await t.http().get('/orders').expect(200);
  });

  it('should pass a 404 through and never open the breaker', async () => {
    await t.http().get('/orders/missing').expect(404);
    await t.http().get('/orders/missing').expect(404);
    expect(t.breaker('OrdersController.missing').state).toBe('closed');
  });

  it('should stream an SSE route through, recording the call when the stream ends', async () => {
    const response = await t.http().get('/orders/events').expect(200);
    expect(response.text).toContain('data: created');
    expect(response.text).toContain('data: paid');
    expect(t.breaker('OrdersController.events').snapshot()).toMatchObject({
      calls: 1,
      successes: 1,
      inFlight: 0,
    });
  });

  it('should run every route through one named breaker with CircuitBreakerInterceptor.for(name)', async () => {
    await t.http().get('/inventory/stock').expect(200, '3');
    await t.http().get('/inventory/reserved').expect(200, '1');
    expect(t.breaker('inventory').snapshot().calls).toBe(2);

    await t.breaker('inventory').trip();
    await t.http().get('/inventory/stock').expect(503);
    await t.http().get('/inventory/reserved').expect(503);
  });
});

@UseInterceptors(CircuitBreakerInterceptor)
@Controller('exports')
class ExportsController {
  @Get()
  build(): Promise<string> {
    return outlastTimeout();
  }
}

/** An app's own filter for every HttpException: it wraps the body in an envelope. */
@Catch(HttpException)
class EnvelopeFilter implements ExceptionFilter<HttpException> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: HttpException, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    this.adapterHost.httpAdapter.reply(
      response,
      { envelope: exception.getResponse() },
      exception.getStatus(),
    );
  }
}

describe('CircuitBreakerInterceptor on timeouts', () => {
  const timeouts = { breakers: { 'ExportsController.build': { timeout: 20 } } };

  it('should answer 504 with a JSON body and no Retry-After when a route outlasts its timeout', async () => {
    const t = await createApp({ controllers: [ExportsController] }, timeouts);
    const response = await t.http().get('/exports').expect(504);
    expect(response.body).toEqual({
      statusCode: 504,
      error: 'Gateway Timeout',
      message: 'Circuit breaker "ExportsController.build": call timed out after 20 ms',
      breaker: 'ExportsController.build',
      timeoutMs: 20,
    });
    expect(response.headers['retry-after']).toBeUndefined();
  });

  it("should hand the 504 to the app's own HttpException filters", async () => {
    const t = await createApp(
      { controllers: [ExportsController], providers: [{ provide: APP_FILTER, useClass: EnvelopeFilter }] },
      timeouts,
    );
    const response = await t.http().get('/exports').expect(504);
    expect(response.body).toEqual({
      envelope: expect.objectContaining({ statusCode: 504, breaker: 'ExportsController.build' }),
    });
  });
});

@Injectable()
class PaymentsClient {
  @CircuitBreaker('payments')
  async charge(): Promise<string> {
    return 'charged';
  }
}

@Controller('payments')
class PaymentsController {
  constructor(@Inject(PaymentsClient) private readonly payments: PaymentsClient) {}

  @CircuitBreaker('payments')
  @Get('charge')
  charge(): Promise<string> {
    return this.payments.charge();
  }

  @Get('plain')
  plain(): Promise<string> {
    return this.payments.charge();
  }
}

@UseInterceptors(CircuitBreakerInterceptor.for('payments'))
@Controller('checkout')
class CheckoutController {
  constructor(@Inject(PaymentsClient) private readonly payments: PaymentsClient) {}

  @Get()
  checkout(): Promise<string> {
    return this.payments.charge();
  }
}

describe('CircuitBreakerInterceptor around a decorated method with the same breaker', () => {
  it('should count the call once', async () => {
    const t = await createApp({ controllers: [CheckoutController], providers: [PaymentsClient] });
    await t.http().get('/checkout').expect(200, 'charged');
    expect(t.breaker('payments').snapshot()).toMatchObject({ calls: 1, inFlight: 0 });
  });
});

describe('CircuitBreakerInterceptor for the whole app (APP_INTERCEPTOR)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createApp({
      controllers: [PaymentsController],
      providers: [PaymentsClient, { provide: APP_INTERCEPTOR, useClass: CircuitBreakerInterceptor }],
    });
  });

  it('should leave a handler decorated with @CircuitBreaker to its decorator', async () => {
    await t.http().get('/payments/charge').expect(200, 'charged');
    expect(t.breaker('payments').snapshot().calls).toBe(1);
    expect(t.registry.has('PaymentsController.charge')).toBe(false);
  });

  it('should protect undecorated routes, each with its own breaker', async () => {
    await t.http().get('/payments/plain').expect(200, 'charged');
    expect(t.breaker('PaymentsController.plain').snapshot().calls).toBe(1);
    expect(t.breaker('payments').snapshot().calls).toBe(1);
  });
});

@CircuitBreaker()
@Controller('reports')
class ReportsController {
  @Get('daily')
  daily(): string {
    return 'daily';
  }

  @Get('weekly')
  weekly(): string {
    return 'weekly';
  }

  @CircuitBreaker('exports')
  @Get('export')
  export(): string {
    return 'export';
  }

  helper(): string {
    return 'not a route';
  }
}

class BaseSearchController {
  @Get('all')
  all(): string {
    return 'all';
  }
}

@CircuitBreaker('search')
@Controller('search')
class SearchController extends BaseSearchController {
  @Get('one/:id')
  one(@Param('id') id: string): string {
    return `one ${id}`;
  }
}

describe('@CircuitBreaker on a controller class', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createApp({
      controllers: [ReportsController, SearchController],
      providers: [{ provide: APP_INTERCEPTOR, useClass: CircuitBreakerInterceptor }],
    });
  });

  it('should give each route handler its own breaker named Controller.handler', async () => {
    await t.http().get('/reports/daily').expect(200, 'daily');
    await t.http().get('/reports/weekly').expect(200, 'weekly');
    expect(t.breaker('ReportsController.daily').snapshot().calls).toBe(1);
    expect(t.breaker('ReportsController.weekly').snapshot().calls).toBe(1);

    await t.breaker('ReportsController.daily').trip();
    await t.http().get('/reports/daily').expect(503);
    await t.http().get('/reports/weekly').expect(200);
  });

  it('should keep a handler’s own @CircuitBreaker and leave plain methods alone', async () => {
    await t.http().get('/reports/export').expect(200, 'export');
    expect(t.breaker('exports').snapshot().calls).toBe(1);
    expect(t.registry.has('ReportsController.export')).toBe(false);
    expect(new ReportsController().helper()).toBe('not a route');
  });

  it('should run every route, inherited ones included, through the one breaker named on the class', async () => {
    await t.http().get('/search/one/7').expect(200, 'one 7');
    await t.http().get('/search/all').expect(200, 'all');
    expect(t.breaker('search').snapshot().calls).toBe(2);
    await t.breaker('search').trip();
    await t.http().get('/search/all').expect(503);
  });

  it('should not count calls a second time in the app-wide interceptor', async () => {
    await t.http().get('/reports/daily').expect(200);
    await t.http().get('/search/one/1').expect(200);
    expect(t.breaker('ReportsController.daily').snapshot().calls).toBe(1);
    expect(t.breaker('search').snapshot().calls).toBe(1);
    expect(t.registry.has('SearchController.one')).toBe(false);
  });
});
