import {
  type ArgumentsHost,
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
  type INestApplication,
  Logger,
  type LoggerService,
  type MessageEvent,
  Param,
  Sse,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { concatMap, from, type Observable } from 'rxjs';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { CircuitBreakerInterceptor } from '../../src/nest/circuit-breaker.interceptor';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { closeAllApps, createApp } from './nest-app.fixture';
import { outlastTimeout } from './slow-call.fixture';

/** A provider method behind a breaker, called from plain routes: the README's first example. */
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

  @CircuitBreaker('checkout')
  @Get('checkout')
  async checkout(): Promise<string> {
    return 'checked out';
  }

  @Get('not-found')
  notFound(): never {
    throw new HttpException('no such thing', HttpStatus.NOT_FOUND);
  }
}

@UseInterceptors(CircuitBreakerInterceptor.for('orders'))
@Controller('orders')
class OrdersController {
  @Get()
  list(): string {
    return 'orders';
  }
}

/** Per-key breakers whose keys come from requests: a path segment, a header. */
@Injectable()
class HostsClient {
  @CircuitBreaker('hosts', { key: (host: string) => host })
  async fetch(host: string): Promise<string> {
    return `fetched ${host}`;
  }
}

@Controller('hosts')
class HostsController {
  constructor(@Inject(HostsClient) private readonly hosts: HostsClient) {}

  @Get(':host')
  fetch(@Param('host') host: string): Promise<string> {
    return this.hosts.fetch(host);
  }

  @CircuitBreaker('tenants', { key: (tenant: string | undefined) => tenant as string })
  @Get()
  async forTenant(@Headers('x-tenant') tenant: string | undefined): Promise<string> {
    return `hosts of ${tenant}`;
  }
}

/** One breaker per tenant for every route of the app, the tenant from a header. */
@Injectable()
class TenantInterceptor extends CircuitBreakerInterceptor {
  protected override breakerKey(context: ExecutionContext): string | undefined {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-tenant'];
  }
}

/**
 * An app's own catch-all filter, as the Nest docs write it: the status of an `HttpException`,
 * 500 for anything else, and a body of its own.
 */
@Catch()
class AllExceptionsFilter implements ExceptionFilter {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const status =
      exception instanceof HttpException ? exception.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    const body = {
      statusCode: status,
      caughtBy: 'AllExceptionsFilter',
      detail: exception instanceof HttpException ? exception.getResponse() : String(exception),
    };
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, status);
  }
}

/** Keeps what the app logs at error level (Nest's ExceptionsHandler logs unknown errors with their stack). */
class ErrorLog implements LoggerService {
  readonly errors: unknown[][] = [];
  log(): void {}
  warn(): void {}
  error(...args: unknown[]): void {
    this.errors.push(args);
  }
}

/** Catches what no call here throws: Nest never picks it, and the module maps as without it. */
@Catch(RangeError)
class RangeErrorFilter implements ExceptionFilter {
  catch(): void {
    throw new Error('RangeErrorFilter caught something');
  }
}

/** Routes with filters bound by `@UseFilters()`, which the mapping looks through for each rejection. */
@UseFilters(RangeErrorFilter)
@Controller('filtered')
class FilteredController {
  constructor(@Inject(PaymentsClient) private readonly payments: PaymentsClient) {}

  @UseFilters(new RangeErrorFilter())
  @Get('quote')
  quote(): Promise<string> {
    return this.payments.quote();
  }
}

let app: INestApplication | undefined;
let errorLog: ErrorLog;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function startApp({
  globalFilter = false,
  tenantInterceptor = false,
  ...options
}: ResilienceModuleRootOptions & { globalFilter?: boolean; tenantInterceptor?: boolean } = {}): Promise<{
  http: () => ReturnType<typeof request>;
  registry: BreakerRegistry;
}> {
  const moduleRef = await Test.createTestingModule({
    imports: [ResilienceModule.forRoot({ metrics: false, defaults: { timeout: 20 }, ...options })],
    controllers: [ShopController, OrdersController, HostsController, FilteredController],
    providers: [
      PaymentsClient,
      HostsClient,
      ...(globalFilter ? [{ provide: APP_FILTER, useClass: AllExceptionsFilter }] : []),
      ...(tenantInterceptor ? [{ provide: APP_INTERCEPTOR, useClass: TenantInterceptor }] : []),
    ],
  }).compile();
  errorLog = new ErrorLog();
  const started = moduleRef.createNestApplication({ logger: errorLog });
  app = started;
  await started.init();
  return { http: () => request(started.getHttpServer()), registry: started.get(BreakerRegistry) };
}

const openBody = (breaker: string) => ({
  statusCode: 503,
  error: 'Service Unavailable',
  message: `Circuit breaker "${breaker}" is forced_open and does not permit further calls`,
  breaker,
  retryAfterMs: 30_000,
});

describe('resilience errors escaping a route, in an app without exception filters', () => {
  it('answers 503 with Retry-After for a rejection from a decorated provider method, and logs no error', async () => {
    const { http, registry } = await startApp();
    await registry.get('payments').trip();

    const response = await http().get('/quote').expect(503);

    expect(response.headers['retry-after']).toBe('30');
    expect(response.body).toEqual(openBody('payments'));
    expect(errorLog.errors).toEqual([]);
  });

  it('answers 504 without Retry-After for a provider call that outlasts its timeout', async () => {
    const { http } = await startApp();

    const response = await http().get('/report').expect(504);

    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.body).toEqual({
      statusCode: 504,
      error: 'Gateway Timeout',
      message: 'Circuit breaker "reports": call timed out after 20 ms',
      breaker: 'reports',
      timeoutMs: 20,
    });
    expect(errorLog.errors).toEqual([]);
  });

  it('reads the filters bound to a handler and its class for its first rejection only, not for each', async () => {
    const { http, registry } = await startApp();
    await registry.get('payments').trip();
    const getMetadata = Reflect.getMetadata.bind(Reflect);
    let reads = 0;
    jest
      .spyOn(Reflect, 'getMetadata')
      .mockImplementation((key: unknown, target: object, property?: string | symbol) => {
        if (new Error().stack?.includes('bound-filters')) reads++;
        return getMetadata(key, target, property as string | symbol);
      });

    try {
      expect((await http().get('/filtered/quote').expect(503)).body).toEqual(openBody('payments'));
      const first = reads;
      for (let call = 0; call < 5; call++) {
        expect((await http().get('/filtered/quote').expect(503)).body).toEqual(openBody('payments'));
      }

      expect(first).toBeGreaterThan(0);
      expect(reads).toBe(first);
      expect(errorLog.errors).toEqual([]);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('leaves every other error as it was', async () => {
    const { http } = await startApp();
    const response = await http().get('/not-found').expect(404);
    expect(response.body).toEqual({ statusCode: 404, message: 'no such thing' });
  });
});

describe('a per-key breaker refusing the key a request brought', () => {
  const longHost = 'h'.repeat(300);
  const keyBody = (breaker: string, key: string) => ({
    statusCode: 400,
    error: 'Bad Request',
    message: `Invalid key for circuit breaker "${breaker}": ${key}; expected a string or a number, at most 256 characters long`,
    breaker,
    expected: 'a string or a number, at most 256 characters long',
  });

  it('answers 400 naming the breaker and the key, from a decorated provider method, and logs no error', async () => {
    const { http, registry } = await startApp();

    const response = await http().get(`/hosts/${longHost}`).expect(400);

    expect(response.body).toEqual(keyBody('hosts', 'a string of 300 characters'));
    expect(response.headers['retry-after']).toBeUndefined();
    expect(registry.all().filter((b) => b.perKey !== undefined)).toEqual([]);
    expect(errorLog.errors).toEqual([]);
  });

  it('answers 400 from a decorated route handler whose key the request left out', async () => {
    const { http } = await startApp();

    const response = await http().get('/hosts').expect(400);

    expect(response.body).toEqual(keyBody('tenants', 'a value of type undefined'));
    await http().get('/hosts').set('x-tenant', 'acme').expect(200, 'hosts of acme');
  });

  it('answers 400 from an app-wide CircuitBreakerInterceptor whose breakerKey() read the request', async () => {
    const { http } = await startApp({ tenantInterceptor: true });

    const response = await http().get('/quote').set('x-tenant', 't'.repeat(257)).expect(400);

    expect(response.body).toEqual(keyBody('ShopController.quote', 'a string of 257 characters'));
    expect(errorLog.errors).toEqual([]);
  });

  it("hands the app's catch-all filter a 400 BadRequestException", async () => {
    const { http } = await startApp({ globalFilter: true });

    const response = await http().get(`/hosts/${longHost}`).expect(400);

    expect(response.body).toEqual({
      statusCode: 400,
      caughtBy: 'AllExceptionsFilter',
      detail: keyBody('hosts', 'a string of 300 characters'),
    });
  });
});

describe('resilience errors escaping a route, in an app with its own catch-all @Catch() filter', () => {
  it.each([
    ['a decorated provider method called from a plain route', '/quote', 'payments'],
    ['a decorated route handler', '/checkout', 'checkout'],
    ['a route behind CircuitBreakerInterceptor', '/orders', 'orders'],
  ])(
    'hands the filter a 503 ServiceUnavailableException, Retry-After set, for %s',
    async (_, path, breaker) => {
      const { http, registry } = await startApp({ globalFilter: true });
      await registry.get(breaker).trip();

      const response = await http().get(path).expect(503);

      expect(response.headers['retry-after']).toBe('30');
      expect(response.body).toEqual({
        statusCode: 503,
        caughtBy: 'AllExceptionsFilter',
        detail: openBody(breaker),
      });
      expect(errorLog.errors).toEqual([]);
    },
  );

  it('hands the filter a 504 GatewayTimeoutException for a timeout', async () => {
    const { http } = await startApp({ globalFilter: true });

    const response = await http().get('/report').expect(504);

    expect(response.body).toMatchObject({ statusCode: 504, detail: { breaker: 'reports', timeoutMs: 20 } });
  });

  it('with mapErrors: false, hands the filter the resilience error itself, wherever it was thrown', async () => {
    const { http, registry } = await startApp({ globalFilter: true, mapErrors: false });
    for (const breaker of ['payments', 'checkout', 'orders']) await registry.get(breaker).trip();

    for (const path of ['/quote', '/checkout', '/orders']) {
      const response = await http().get(path).expect(500);
      expect(response.headers['retry-after']).toBeUndefined();
      expect(response.body.detail).toMatch(/^BreakerOpenError: Circuit breaker/);
    }
  });
});

describe('the mapErrors setting', () => {
  it('refuses a value that is not a boolean, naming the setting', () => {
    expect(() => ResilienceModule.forRoot({ mapErrors: 'no' as unknown as boolean })).toThrow(
      'ResilienceModule: mapErrors = no is invalid; expected true',
    );
  });

  it('sits next to useFactory in forRootAsync', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRootAsync({ useFactory: () => ({ metrics: false as const }), mapErrors: false }),
      ],
      controllers: [ShopController],
      providers: [PaymentsClient],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    await app.get(BreakerRegistry).get('payments').trip();

    await request(app.getHttpServer()).get('/quote').expect(500);
  });
});

describe('a rejection in the middle of a stream (SSE)', () => {
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

  afterEach(closeAllApps);

  it('should end the stream with the rejection as its error event, nothing logged', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const t = await createApp({ controllers: [PricesController], providers: [Prices] });

    const response = await t.http().get('/prices').expect(200);

    expect(response.text).toContain('data: price 0');
    expect(response.text).toMatch(/event: error\nid: 2\ndata: Circuit breaker "prices" is forced_open/);
    expect(error).not.toHaveBeenCalled();
    error.mockRestore();
  });
});
