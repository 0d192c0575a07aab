import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  type LoggerService,
  type Type,
  UseFilters,
} from '@nestjs/common';
import { BaseWsExceptionFilter, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import { io, type Socket } from 'socket.io-client';
import { BreakerOpenError, isBreakerOpenError } from '../../src/core/errors';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { ResilienceErrorsFilter } from '../../src/nest/error-mapping/resilience-errors.filter';
import { RateLimit } from '../../src/nest/policy.decorators';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { outlastTimeout } from '../nest/slow-call.fixture';

/** The app's own answer for an open breaker, bound to one handler: the app wants its shape there. */
@Catch(BreakerOpenError)
class QuotesClosedFilter extends BaseWsExceptionFilter {
  override catch(error: BreakerOpenError, host: ArgumentsHost): void {
    super.catch(new WsException({ status: 'closed', reopensInMs: error.retryAfterMs }), host);
  }
}

/** A gateway on socket.io whose handlers have `filters` (`@UseFilters`: global filters never reach gateways). */
function quotesGateway(...filters: Array<Type<ExceptionFilter>>): Type {
  @WebSocketGateway()
  @UseFilters(...filters)
  class QuotesGateway {
    @CircuitBreaker('quotes')
    @SubscribeMessage('quote')
    async quote(): Promise<string> {
      throw new Error('the quote service is down');
    }

    @CircuitBreaker('reports')
    @SubscribeMessage('report')
    async report(): Promise<string> {
      return outlastTimeout();
    }

    @RateLimit({ limit: 1, interval: 60_000 })
    @SubscribeMessage('search')
    async search(): Promise<string> {
      return 'results';
    }

    @CircuitBreaker('quotes')
    @UseFilters(QuotesClosedFilter)
    @SubscribeMessage('quote-own')
    async quoteOwn(): Promise<string> {
      return 'quote';
    }

    @SubscribeMessage('broken')
    async broken(): Promise<string> {
      throw new Error('a bug');
    }
  }
  return QuotesGateway;
}

declare const EXPECTED_PEERS: Record<string, string>;

/** Nest 11 applies no app-wide interceptor to gateways: there the docs give a gateway the filter. */
const mappedAppWide = EXPECTED_PEERS['@nestjs/core'] !== '11';
const documentedGateway = () => (mappedAppWide ? quotesGateway() : quotesGateway(ResilienceErrorsFilter));

/** An app's own catch-all filter for its gateways, as Nest's docs write one. */
@Catch()
class AppWsFilter extends BaseWsExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    caught.push(exception);
    super.catch(exception, host);
  }
}

/** What the app's own catch-all filter was given. */
const caught: unknown[] = [];

/** Every line the app logs at error level. */
const errors: unknown[][] = [];
const recorder = {
  log() {},
  warn() {},
  error: (...args: unknown[]) => errors.push(args),
} as unknown as LoggerService;

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
  errors.length = 0;
  caught.length = 0;
});

/** A real app with `gateway`, listening on 127.0.0.1, and a connected client. */
async function connect(options: ResilienceModuleRootOptions, gateway = documentedGateway()): Promise<Socket> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ResilienceModule.forRoot({
        metrics: false,
        breakers: { quotes: { failureThreshold: 1 }, reports: { timeout: 50 } },
        ...options,
      }),
    ],
    providers: [gateway],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: recorder });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  close = async () => {
    socket.close();
    await app.close();
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Sends `event` and waits for the `exception` event the gateway answers it with. */
function exceptionFor(socket: Socket, event: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    socket.once('exception', resolve);
    socket.emit(event, {});
  });
}

describe('WebSocket gateways (socket.io): a rejection reaches the client as an exception event it can act on', () => {
  it('answers BREAKER_OPEN with the breaker and retryAfterMs once the breaker is open, with nothing logged', async () => {
    const socket = await connect({});
    await exceptionFor(socket, 'quote');

    const answer = await exceptionFor(socket, 'quote');

    expect(answer).toEqual({
      status: 'error',
      code: 'BREAKER_OPEN',
      message: 'Circuit breaker "quotes" is open and does not permit further calls',
      breaker: 'quotes',
      retryAfterMs: expect.any(Number),
    });
    expect(answer.retryAfterMs).toBeGreaterThan(0);
    // The first call's own error is the app's to log; the rejection logs nothing.
    expect(errors).toHaveLength(1);
  });

  it('answers BREAKER_TIMEOUT with timeoutMs when the handler outlasts the breaker’s timeout', async () => {
    const socket = await connect({});

    await expect(exceptionFor(socket, 'report')).resolves.toMatchObject({
      status: 'error',
      code: 'BREAKER_TIMEOUT',
      breaker: 'reports',
      timeoutMs: 50,
    });
  });

  it('answers RATE_LIMITED with the policy and retryAfterMs once the rate limit is reached', async () => {
    const socket = await connect({});
    const first = await socket.emitWithAck('search', {});

    const answer = await exceptionFor(socket, 'search');

    expect(first).toBe('results');
    expect(answer).toMatchObject({ status: 'error', code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    expect(answer.policy).toEqual(expect.stringContaining('search'));
  });

  it('leaves any other error to Nest: "Internal server error"', async () => {
    const socket = await connect({});

    await expect(exceptionFor(socket, 'broken')).resolves.toMatchObject({
      status: 'error',
      message: 'Internal server error',
    });
  });

  it('answers the same on a gateway with the app’s own catch-all filter', async () => {
    const socket = await connect({}, quotesGateway(AppWsFilter, ResilienceErrorsFilter));
    await exceptionFor(socket, 'quote');

    await expect(exceptionFor(socket, 'quote')).resolves.toMatchObject({
      status: 'error',
      code: 'BREAKER_OPEN',
      breaker: 'quotes',
    });
  });

  it('leaves the rejection to a filter bound to the handler whose @Catch() names BreakerOpenError', async () => {
    const socket = await connect(
      {},
      quotesGateway(AppWsFilter, ...(mappedAppWide ? [] : [ResilienceErrorsFilter])),
    );
    await exceptionFor(socket, 'quote');
    caught.length = 0;

    await expect(exceptionFor(socket, 'quote-own')).resolves.toEqual({
      status: 'closed',
      reopensInMs: expect.any(Number),
    });
    expect(caught).toEqual([]);
    // The gateway's other handlers still answer as documented.
    await expect(exceptionFor(socket, 'quote')).resolves.toMatchObject({
      code: 'BREAKER_OPEN',
      breaker: 'quotes',
    });
  });

  it('answers through the app’s own catch-all filter alone on Nest 12, which gets a WsException caused by the BreakerOpenError', async () => {
    const socket = await connect({}, quotesGateway(AppWsFilter));
    await exceptionFor(socket, 'quote');
    caught.length = 0;

    const answer = await exceptionFor(socket, 'quote');

    if (mappedAppWide) {
      expect(answer).toMatchObject({ status: 'error', code: 'BREAKER_OPEN', breaker: 'quotes' });
      expect(caught[0]).toBeInstanceOf(WsException);
      expect(isBreakerOpenError((caught[0] as Error).cause)).toBe(true);
    } else expect(answer).toMatchObject({ status: 'error', message: 'Internal server error' });
  });

  it('answers with no filter on Nest 12, where the module’s mapping reaches gateways; Nest 11 answers "Internal server error"', async () => {
    const socket = await connect({}, quotesGateway());
    await exceptionFor(socket, 'quote');

    const answer = await exceptionFor(socket, 'quote');

    if (mappedAppWide) expect(answer).toMatchObject({ code: 'BREAKER_OPEN', breaker: 'quotes' });
    else expect(answer).toMatchObject({ status: 'error', message: 'Internal server error' });
  });

  it('answers through ResilienceErrorsFilter with mapErrors: false', async () => {
    const socket = await connect({ mapErrors: false }, quotesGateway(ResilienceErrorsFilter));
    await exceptionFor(socket, 'quote');

    await expect(exceptionFor(socket, 'quote')).resolves.toEqual({
      status: 'error',
      code: 'BREAKER_OPEN',
      message: 'Circuit breaker "quotes" is open and does not permit further calls',
      breaker: 'quotes',
      retryAfterMs: expect.any(Number),
    });
  });
});
