import { randomUUID } from 'node:crypto';
import {
  type ArgumentsHost,
  Catch,
  Controller,
  type ExceptionFilter,
  Get,
  type INestMicroservice,
  type LoggerService,
  type Provider,
  type RpcExceptionFilter,
  UseFilters,
} from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import {
  BaseRpcExceptionFilter,
  type ClientOptions,
  type ClientProxy,
  ClientProxyFactory,
  EventPattern,
  MessagePattern,
  type MicroserviceOptions,
  RpcException,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom, type Observable, throwError } from 'rxjs';
import request from 'supertest';
import { BreakerOpenError, isBreakerOpenError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { RateLimit, Timeout } from '../../src/nest/policy.decorators';
import { ResilienceErrorsFilter } from '../../src/nest/error-mapping/resilience-errors.filter';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { outlastTimeout } from '../nest/slow-call.fixture';
import { refusingOrigin } from '../support/upstream-server';

/** Patterns unique to this run: RabbitMQ is shared with every other test run on the machine. */
const run = randomUUID().slice(0, 8);
const QUOTE = `own-filters.quote.${run}`;
const QUOTE_OWN = `own-filters.quote-own.${run}`;
const SEARCH = `own-filters.search.${run}`;
const SLOW = `own-filters.slow.${run}`;
const ALERT = `own-filters.alert.${run}`;

const OPEN = {
  code: 'BREAKER_OPEN',
  message: 'Circuit breaker "quotes" is forced_open and does not permit further calls',
  breaker: 'quotes',
  retryAfterMs: expect.any(Number),
};

/** What the app's own catch-all filter was given. */
const caught: unknown[] = [];

/** An app's own catch-all for its microservice, as Nest's docs write one. */
@Catch()
class AppRpcFilter extends BaseRpcExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> {
    caught.push(exception);
    return super.catch(exception, host);
  }
}

/** The app's own answer for an open breaker, bound to one handler: the app wants its shape there. */
@Catch(BreakerOpenError)
class QuotesClosedFilter implements RpcExceptionFilter<BreakerOpenError> {
  catch(error: BreakerOpenError): Observable<never> {
    return throwError(() => ({ status: 'closed', reopensInMs: error.retryAfterMs }));
  }
}

/** The same for a route: 200 with the app's own body. */
@Catch(BreakerOpenError)
class QuotesClosedRouteFilter implements ExceptionFilter<BreakerOpenError> {
  catch(error: BreakerOpenError, host: ArgumentsHost): void {
    host.switchToHttp().getResponse().status(200).json({ status: 'closed', reopensInMs: error.retryAfterMs });
  }
}

@Controller()
class QuotesController {
  @CircuitBreaker('quotes')
  @MessagePattern(QUOTE)
  async quote(): Promise<string> {
    return 'quote';
  }

  @CircuitBreaker('quotes')
  @UseFilters(QuotesClosedFilter)
  @MessagePattern(QUOTE_OWN)
  async quoteOwn(): Promise<string> {
    return 'quote';
  }

  @RateLimit({ limit: 1, interval: 60_000 })
  @MessagePattern(SEARCH)
  async search(): Promise<string> {
    return 'results';
  }

  @Timeout(50)
  @MessagePattern(SLOW)
  async slow(): Promise<string> {
    return outlastTimeout();
  }

  @CircuitBreaker('alerts')
  @EventPattern(ALERT)
  async alert(_data: unknown): Promise<void> {}

  @CircuitBreaker('quotes')
  @Get('quote')
  async route(): Promise<string> {
    return 'quote';
  }

  @CircuitBreaker('quotes')
  @UseFilters(QuotesClosedRouteFilter)
  @Get('quote-own')
  async routeOwn(): Promise<string> {
    return 'quote';
  }
}

/** Every line the apps log. */
const logs: Array<{ level: string; args: unknown[] }> = [];
const recorder: LoggerService = Object.fromEntries(
  ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'].map((level) => [
    level,
    (...args: unknown[]) => logs.push({ level, args }),
  ]),
) as unknown as LoggerService;

const TRANSPORTS: Record<string, () => Promise<MicroserviceOptions>> = {
  TCP: async () => ({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: Number(new URL(await refusingOrigin()).port) },
  }),
  RabbitMQ: async () => ({
    transport: Transport.RMQ,
    options: {
      urls: ['amqp://127.0.0.1:5672'],
      queue: `own-filters.${randomUUID()}`,
      queueOptions: { durable: false, autoDelete: true },
    },
  }),
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  caught.length = 0;
  logs.length = 0;
});

/** `client.send(pattern)`'s error, or its value. */
const answerTo = (client: ClientProxy, pattern: string) =>
  lastValueFrom(client.send(pattern, {})).catch((error: unknown) => error);

/** A microservice on `transport` with the breakers `quotes` and `alerts` tripped, and a client connected to it. */
async function startMicroservice(
  transport: MicroserviceOptions,
  {
    providers = [],
    filters = [],
    ...options
  }: ResilienceModuleRootOptions & { providers?: Provider[]; filters?: ExceptionFilter[] },
): Promise<{ server: INestMicroservice; client: ClientProxy }> {
  const moduleRef = await Test.createTestingModule({
    imports: [ResilienceModule.forRoot({ metrics: false, ...options })],
    controllers: [QuotesController],
    providers,
  }).compile();
  const server = moduleRef.createNestMicroservice<MicroserviceOptions>({ ...transport, logger: recorder });
  server.useGlobalFilters(...filters);
  await server.listen();
  cleanups.push(() => server.close());
  await server.get(BreakerRegistry).get('quotes').trip('maintenance');
  await server.get(BreakerRegistry).get('alerts').trip('maintenance');
  const client = ClientProxyFactory.create(transport as ClientOptions);
  await client.connect();
  cleanups.push(() => client.close());
  return { server, client };
}

describe.each(Object.keys(TRANSPORTS))('RPC over %s, in an app with exception filters of its own', (name) => {
  it('answers the contract through the app’s global catch-all filter, which gets an RpcException caused by the BreakerOpenError', async () => {
    const { client } = await startMicroservice(await TRANSPORTS[name](), { filters: [new AppRpcFilter()] });

    await expect(answerTo(client, QUOTE)).resolves.toEqual(OPEN);

    expect(caught).toHaveLength(1);
    expect(caught[0]).toBeInstanceOf(RpcException);
    expect(isBreakerOpenError((caught[0] as Error).cause)).toBe(true);
  });

  it('leaves the rejection to a filter bound to the handler whose @Catch() names BreakerOpenError', async () => {
    const { client } = await startMicroservice(await TRANSPORTS[name](), { filters: [new AppRpcFilter()] });

    await expect(answerTo(client, QUOTE_OWN)).resolves.toEqual({
      status: 'closed',
      reopensInMs: expect.any(Number),
    });
    expect(caught).toEqual([]);
    // The other handlers still get the contract.
    await expect(answerTo(client, QUOTE)).resolves.toEqual(OPEN);
  });

  it('says each rejected event in one warning line, nothing more, with the app’s catch-all filter', async () => {
    const { server, client } = await startMicroservice(await TRANSPORTS[name](), {
      filters: [new AppRpcFilter()],
    });
    const registry = server.get(BreakerRegistry);
    logs.length = 0;

    for (let i = 0; i < 2; i++) await lastValueFrom(client.emit(ALERT, {}));
    await new Promise<void>((resolve) => {
      const check = () => registry.get('alerts').snapshot().rejected >= 2 && resolve();
      registry.get('alerts').on('rejected', check);
      check();
    });
    await new Promise((resolve) => setImmediate(resolve));

    expect(logs.filter(({ level }) => level === 'error')).toEqual([]);
    expect(logs.filter(({ args }) => JSON.stringify(args).includes('alerts'))).toEqual([
      {
        level: 'warn',
        args: [expect.stringContaining('QuotesController.alert did not handle an event'), 'CircuitBreaker'],
      },
      {
        level: 'warn',
        args: [expect.stringContaining('QuotesController.alert did not handle an event'), 'CircuitBreaker'],
      },
    ]);
  });

  it('answers the contract through ResilienceErrorsFilter as APP_FILTER with mapErrors: false', async () => {
    const { client } = await startMicroservice(await TRANSPORTS[name](), {
      mapErrors: false,
      providers: [{ provide: APP_FILTER, useClass: ResilienceErrorsFilter }],
    });

    await expect(answerTo(client, QUOTE)).resolves.toEqual(OPEN);
    expect(logs.filter(({ level }) => level === 'error')).toEqual([]);
  });
});

describe.each([
  ['the app’s global catch-all filter', { filters: [new AppRpcFilter()] }],
  [
    'ResilienceErrorsFilter as APP_FILTER with mapErrors: false',
    { mapErrors: false, providers: [{ provide: APP_FILTER, useClass: ResilienceErrorsFilter }] },
  ],
])('RPC over TCP, policies’ errors through %s', (_name, setup) => {
  it('answers RATE_LIMITED with the policy and retryAfterMs, and TIMEOUT with timeoutMs', async () => {
    const { client } = await startMicroservice(await TRANSPORTS.TCP(), setup);

    await expect(answerTo(client, SEARCH)).resolves.toBe('results');
    await expect(answerTo(client, SEARCH)).resolves.toEqual({
      code: 'RATE_LIMITED',
      message: expect.stringContaining('rate limit'),
      policy: 'QuotesController.search',
      retryAfterMs: expect.any(Number),
    });
    await expect(answerTo(client, SLOW)).resolves.toEqual({
      code: 'TIMEOUT',
      message: expect.any(String),
      policy: 'QuotesController.slow',
      timeoutMs: 50,
    });
  });
});

describe('a hybrid app (HTTP and a connected microservice over TCP): neither answer breaks the other', () => {
  /** The app, its microservice connected (`inheritAppConfig` or not), `quotes` tripped, and a client. */
  async function startHybrid({
    inheritAppConfig,
    appFilter,
    microserviceFilter,
    ...options
  }: ResilienceModuleRootOptions & {
    inheritAppConfig: boolean;
    appFilter?: boolean;
    microserviceFilter?: boolean;
  }) {
    const transport = await TRANSPORTS.TCP();
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ metrics: false, ...options })],
      controllers: [QuotesController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: recorder });
    const filter = () => new ResilienceErrorsFilter(app.get(HttpAdapterHost));
    if (appFilter) app.useGlobalFilters(filter());
    // A connected microservice takes filters of its own only until it is initialised.
    const microservice = app.connectMicroservice<MicroserviceOptions>(transport, {
      inheritAppConfig,
      deferInitialization: microserviceFilter,
    });
    if (microserviceFilter) microservice.useGlobalFilters(filter());
    await app.startAllMicroservices();
    await app.init();
    cleanups.push(() => app.close());
    await app.get(BreakerRegistry).get('quotes').trip('maintenance');
    const client = ClientProxyFactory.create(transport as ClientOptions);
    cleanups.push(() => client.close());
    return { http: () => request(app.getHttpServer()), client };
  }

  it.each([
    ['the module’s mapping, inheritAppConfig', { inheritAppConfig: true }],
    [
      'the module’s mapping and ResilienceErrorsFilter app-wide, inheritAppConfig',
      { inheritAppConfig: true, appFilter: true },
    ],
    [
      'mapErrors: false, ResilienceErrorsFilter app-wide, inheritAppConfig',
      { mapErrors: false, inheritAppConfig: true, appFilter: true },
    ],
    [
      'mapErrors: false, ResilienceErrorsFilter on the app and on the microservice',
      { mapErrors: false, inheritAppConfig: false, appFilter: true, microserviceFilter: true },
    ],
    [
      'the module’s mapping, ResilienceErrorsFilter on the microservice',
      { inheritAppConfig: false, microserviceFilter: true },
    ],
  ])('%s: routes answer 503 with Retry-After, the ClientProxy the contract', async (_name, setup) => {
    const { http, client } = await startHybrid(setup);

    const route = await http().get('/quote').expect(503);
    expect(route.headers['retry-after']).toMatch(/^\d+$/);
    expect(route.body).toMatchObject({ statusCode: 503, breaker: 'quotes' });
    await expect(answerTo(client, QUOTE)).resolves.toEqual(OPEN);
    // And the filters the app binds to a handler for open breakers answer there.
    await expect(answerTo(client, QUOTE_OWN)).resolves.toEqual({
      status: 'closed',
      reopensInMs: expect.any(Number),
    });
    const own = await http().get('/quote-own').expect(200);
    expect(own.body).toEqual({ status: 'closed', reopensInMs: expect.any(Number) });
    expect(logs.filter(({ level }) => level === 'error')).toEqual([]);
  });
});
