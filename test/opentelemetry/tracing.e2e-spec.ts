import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestModule,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createResilientFetch } from '../../src/http/resilient-fetch';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';
import { outlastTimeout } from '../nest/slow-call.fixture';
import { startUpstream, type Upstream } from '../support/upstream-server';

@Injectable()
class QuotesClient {
  @CircuitBreaker('quotes', { fallback: 'cached' })
  async quote(): Promise<string> {
    throw new Error('down');
  }

  cached(): string {
    return 'cached';
  }

  @CircuitBreaker('reports')
  async report(): Promise<string> {
    return outlastTimeout();
  }

  @CircuitBreaker('prices')
  async price(): Promise<number> {
    return 42;
  }
}

@Controller()
class QuotesController {
  constructor(@Inject(QuotesClient) private readonly quotes: QuotesClient) {}

  @Get('quote')
  quote(): Promise<string> {
    return this.quotes.quote();
  }

  @Get('report')
  report(): Promise<string> {
    return this.quotes.report();
  }

  @Get('price')
  price(): Promise<number> {
    return this.quotes.price();
  }
}

const exporter = new InMemorySpanExporter();
const tracer = () => trace.getTracer('test');

/** One span per request, active while Nest handles it, as an HTTP instrumentation makes. */
function requestSpans(request: IncomingMessage, response: ServerResponse, next: () => void): void {
  tracer().startActiveSpan(`${request.method} ${request.url}`, (span) => {
    // Ended as the answer is written, so the span is exported before the client has the answer.
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      span.end();
      return end(...args);
    }) as ServerResponse['end'];
    next();
  });
}

@Module({ controllers: [QuotesController], providers: [QuotesClient] })
class QuotesModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(requestSpans).forRoutes(QuotesController);
  }
}

describe('OpenTelemetry: protected calls mark the active span', () => {
  let app: TestApp;
  let upstream: Upstream;

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });

  beforeEach(async () => {
    exporter.reset();
    upstream = await startUpstream();
    app = await createApp(
      { imports: [QuotesModule] },
      { breakers: { quotes: { failureThreshold: 1 }, reports: { timeout: 50 } } },
    );
  });
  afterEach(async () => {
    await closeAllApps();
    await upstream.close();
  });

  const spanOf = (name: string) => {
    const spans = exporter.getFinishedSpans().filter((s) => s.name === name);
    return spans[spans.length - 1];
  };

  it('adds the breaker’s name and the state that admitted the call', async () => {
    await app.http().get('/price').expect(200);

    expect(spanOf('GET /price').attributes).toMatchObject({
      'circuit_breaker.name': 'prices',
      'circuit_breaker.state': 'closed',
    });
    expect(spanOf('GET /price').events).toEqual([]);
  });

  it('adds a fallback event, then a rejected event with retry_after_ms and the state that rejected', async () => {
    await app.http().get('/quote').expect(200);
    expect(spanOf('GET /quote').events.map((e) => e.name)).toEqual(['circuit_breaker.fallback']);

    await app.http().get('/quote').expect(200);

    const span = spanOf('GET /quote');
    expect(span.attributes).toMatchObject({
      'circuit_breaker.name': 'quotes',
      'circuit_breaker.state': 'open',
    });
    expect(span.events.map((e) => e.name)).toEqual(['circuit_breaker.rejected', 'circuit_breaker.fallback']);
    expect(span.events[0].attributes).toMatchObject({
      'circuit_breaker.name': 'quotes',
      retry_after_ms: expect.any(Number),
    });
    expect(span.events[1].attributes).toMatchObject({ retry_after_ms: expect.any(Number) });
  });

  it('adds a timeout event', async () => {
    await app.http().get('/report').expect(504);

    expect(spanOf('GET /report').events).toEqual([
      expect.objectContaining({
        name: 'circuit_breaker.timeout',
        attributes: { 'circuit_breaker.name': 'reports', timeout_ms: 50 },
      }),
    ]);
  });

  it('marks the span of an outgoing request with its origin’s breaker', async () => {
    const fetch = createResilientFetch(app.registry, { defaults: { failureThreshold: 1 } });
    upstream.answer(503);

    await tracer().startActiveSpan('job', async (span) => {
      await (await fetch(upstream.origin)).text();
      await fetch(upstream.origin).catch(() => undefined);
      span.end();
    });

    const span = spanOf('job');
    expect(span.attributes).toMatchObject({
      'circuit_breaker.name': `http:${upstream.origin}`,
      'circuit_breaker.state': 'open',
    });
    expect(span.events.map((e) => e.name)).toEqual(['circuit_breaker.rejected']);
  });
});
