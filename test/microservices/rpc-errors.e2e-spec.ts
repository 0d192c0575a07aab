import { randomUUID } from 'node:crypto';
import { Controller, Inject, type INestMicroservice } from '@nestjs/common';
import {
  type ClientOptions,
  type ClientProxy,
  ClientProxyFactory,
  MessagePattern,
  type MicroserviceOptions,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
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
}

/** How the server listens and the client connects, per transport (the machine runs Redis and NATS). */
const TRANSPORTS: Record<string, () => Promise<MicroserviceOptions>> = {
  TCP: async () => ({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: Number(new URL(await refusingOrigin()).port) },
  }),
  Redis: async () => ({ transport: Transport.REDIS, options: { host: '127.0.0.1', port: 6379 } }),
  NATS: async () => ({ transport: Transport.NATS, options: { servers: ['nats://127.0.0.1:4222'] } }),
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
            breakers: { quotes: { failureThreshold: 1 }, reports: { timeout: 50 } },
          }),
        ],
        controllers: [QuotesController],
      }).compile();
      server = moduleRef.createNestMicroservice<MicroserviceOptions>({ ...transport, logger: false });
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
  },
);
