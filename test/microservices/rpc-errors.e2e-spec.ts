import { randomUUID } from 'node:crypto';
import { Controller, Inject, type INestMicroservice, type LoggerService } from '@nestjs/common';
import {
  type ClientOptions,
  type ClientProxy,
  ClientProxyFactory,
  EventPattern,
  MessagePattern,
  type MicroserviceOptions,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import type { BreakerSnapshot } from '../../src/core/breaker-snapshot';
import { CircuitState } from '../../src/core/circuit-state';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { RateLimit } from '../../src/nest/policy.decorators';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { outlastTimeout } from '../nest/slow-call.fixture';
import { refusingOrigin } from '../support/upstream-server';

/** Patterns unique to this run: Redis and NATS are shared with every other test run on the machine. */
const run = randomUUID().slice(0, 8);
const QUOTE = `quote.${run}`;
const REPORT = `report.${run}`;
const SEARCH = `search.${run}`;
const ALERT = `alert.${run}`;

/** Every line the apps log, with what came with it (a stack, a context). */
const logs: Array<{ level: string; args: unknown[] }> = [];
const recorder: LoggerService = Object.fromEntries(
  ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'].map((level) => [
    level,
    (...args: unknown[]) => logs.push({ level, args }),
  ]),
) as unknown as LoggerService;

@Controller()
class QuotesController {
  constructor(@Inject(BreakerRegistry) readonly registry: BreakerRegistry) {}

  @CircuitBreaker('quotes')
  @MessagePattern(QUOTE)
  async quote(): Promise<string> {
    throw new Error('the quote service is down');
  }

  @CircuitBreaker('reports')
  @MessagePattern(REPORT)
  async report(): Promise<string> {
    return outlastTimeout();
  }

  @RateLimit({ limit: 1, interval: 60_000 })
  @MessagePattern(SEARCH)
  async search(): Promise<string> {
    return 'results';
  }

  @CircuitBreaker('alerts')
  @EventPattern(ALERT)
  async alert(_data: unknown): Promise<void> {
    throw new Error('the alert service is down');
  }
}

/**
 * Resolves once `breaker`'s snapshot satisfies `done` (checked now and on each of its `event`s),
 * and what set it off has gone through the promises and streams after it (the next turn of the
 * event loop).
 */
async function breakerReaches(
  registry: BreakerRegistry,
  breaker: string,
  event: 'rejected' | 'stateChange',
  done: (snapshot: BreakerSnapshot) => boolean,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const check = () => done(registry.get(breaker).snapshot()) && resolve();
    registry.get(breaker).on(event, check);
    check();
  });
  await nextTurn();
}

/** The next turn of the event loop: what a settled call set off has run by then. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** How the server listens and the client connects, per transport (the machine runs Redis, NATS and RabbitMQ). */
const TRANSPORTS: Record<string, () => Promise<MicroserviceOptions>> = {
  TCP: async () => ({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: Number(new URL(await refusingOrigin()).port) },
  }),
  Redis: async () => ({ transport: Transport.REDIS, options: { host: '127.0.0.1', port: 6379 } }),
  NATS: async () => ({ transport: Transport.NATS, options: { servers: ['nats://127.0.0.1:4222'] } }),
  RabbitMQ: async () => ({
    transport: Transport.RMQ,
    options: {
      urls: ['amqp://127.0.0.1:5672'],
      queue: `quotes.${run}`,
      queueOptions: { durable: false, autoDelete: true },
    },
  }),
};

describe.each(Object.keys(TRANSPORTS))(
  'RPC over %s: a rejection reaches the ClientProxy as an RpcException',
  (name) => {
    let server: INestMicroservice;
    let client: ClientProxy;

    beforeAll(async () => {
      const transport = await TRANSPORTS[name]();
      const moduleRef = await Test.createTestingModule({
        imports: [
          ResilienceModule.forRoot({
            metrics: false,
            breakers: {
              quotes: { failureThreshold: 1 },
              reports: { timeout: 50 },
              alerts: { failureThreshold: 1 },
            },
          }),
        ],
        controllers: [QuotesController],
      }).compile();
      server = moduleRef.createNestMicroservice<MicroserviceOptions>({ ...transport, logger: recorder });
      await server.listen();
      client = ClientProxyFactory.create(transport as ClientOptions);
      await client.connect();
    });

    afterAll(async () => {
      await client?.close();
      await server?.close();
    });

    it('answers BREAKER_OPEN with the breaker and retryAfterMs once the breaker is open', async () => {
      // The first failure is the handler's own error: Nest's default answer.
      await expect(lastValueFrom(client.send(QUOTE, {}))).rejects.toMatchObject({
        message: 'Internal server error',
      });

      const error = await lastValueFrom(client.send(QUOTE, {})).catch((e: unknown) => e);

      expect(error).toEqual({
        code: 'BREAKER_OPEN',
        message: 'Circuit breaker "quotes" is open and does not permit further calls',
        breaker: 'quotes',
        retryAfterMs: expect.any(Number),
      });
      expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(25_000);
    });

    it('answers BREAKER_TIMEOUT with timeoutMs when the handler outlasts the breaker’s timeout', async () => {
      const error = await lastValueFrom(client.send(REPORT, {})).catch((e: unknown) => e);

      expect(error).toEqual({
        code: 'BREAKER_TIMEOUT',
        message: 'Circuit breaker "reports": call timed out after 50 ms',
        breaker: 'reports',
        timeoutMs: 50,
      });
    });

    it('answers RATE_LIMITED with the policy and retryAfterMs once the rate limit is reached', async () => {
      await expect(lastValueFrom(client.send(SEARCH, {}))).resolves.toBe('results');

      const error = await lastValueFrom(client.send(SEARCH, {})).catch((e: unknown) => e);

      expect(error).toEqual({
        code: 'RATE_LIMITED',
        message: expect.stringContaining('rate limit'),
        policy: 'QuotesController.search',
        retryAfterMs: expect.any(Number),
      });
    });

    it('says each event an open breaker rejects in one warning line with no stack, and keeps serving', async () => {
      const registry = server.get(BreakerRegistry);
      await lastValueFrom(client.emit(ALERT, {}));
      await breakerReaches(registry, 'alerts', 'stateChange', (s) => s.state === CircuitState.OPEN);
      logs.length = 0;

      for (let i = 0; i < 3; i++) await lastValueFrom(client.emit(ALERT, {}));
      await breakerReaches(registry, 'alerts', 'rejected', (s) => s.rejected >= 3);

      const about = logs.filter(({ args }) => JSON.stringify(args).includes('alerts'));
      expect(about.map(({ level, args }) => ({ level, args }))).toEqual(
        Array.from({ length: 3 }, () => ({
          level: 'warn',
          args: [
            expect.stringMatching(
              /^QuotesController\.alert did not handle an event: Circuit breaker "alerts" is open and does not permit further calls \(BREAKER_OPEN, retry after \d+ ms\)$/,
            ),
            'CircuitBreaker',
          ],
        })),
      );
      expect(logs.filter(({ level }) => level === 'error')).toEqual([]);
      await expect(lastValueFrom(client.send(REPORT, {}))).rejects.toMatchObject({ code: 'BREAKER_TIMEOUT' });
    });
  },
);

describe('a hybrid app: an HTTP app with a microservice connected to it', () => {
  it.each([
    ['', {}],
    // A config object with the setting left unset, as `{ mapErrors: config.mapErrors }` writes it.
    [', with mapErrors: undefined (the default)', { mapErrors: undefined }],
  ])(
    'answers BREAKER_OPEN over TCP when the microservice inherits the app’s configuration%s',
    async (_name, options) => {
      const transport = await TRANSPORTS.TCP();
      const moduleRef = await Test.createTestingModule({
        imports: [
          ResilienceModule.forRoot({
            metrics: false,
            breakers: { quotes: { failureThreshold: 1 } },
            ...options,
          }),
        ],
        controllers: [QuotesController],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      app.connectMicroservice<MicroserviceOptions>(transport, { inheritAppConfig: true });
      await app.startAllMicroservices();
      await app.init();
      const client = ClientProxyFactory.create(transport as ClientOptions);
      try {
        await app.get(BreakerRegistry).get('quotes').trip('maintenance');

        const error = await lastValueFrom(client.send(QUOTE, {})).catch((e: unknown) => e);

        expect(error).toMatchObject({ code: 'BREAKER_OPEN', breaker: 'quotes' });
      } finally {
        await client.close();
        await app.close();
      }
    },
  );
});
