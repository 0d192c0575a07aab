import type { AddressInfo } from 'node:net';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Catch, type Provider, UseFilters } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import {
  type GqlExceptionFilter,
  GraphQLModule,
  Query,
  ResolveField,
  Resolver,
  Subscription,
} from '@nestjs/graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BreakerOpenError, isBreakerOpenError } from '../../src/core/errors';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { ResilienceErrorsFilter } from '../../src/nest/error-mapping/resilience-errors.filter';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';

/** What the app's own filter and formatError were given. */
const caught: unknown[] = [];
const formatted: unknown[] = [];

/** An app's own catch-all for its resolvers, as Nest's docs write one. */
@Catch()
class AppGqlFilter implements GqlExceptionFilter {
  catch(exception: unknown): unknown {
    caught.push(exception);
    return exception;
  }
}

/** The app's own answer for an open breaker, bound to one resolver: the app wants its shape there. */
@Catch(BreakerOpenError)
class QuotesClosedFilter implements GqlExceptionFilter {
  catch(error: BreakerOpenError): GraphQLError {
    return new GraphQLError('Quotes are closed', {
      extensions: { code: 'QUOTES_CLOSED', reopensInMs: error.retryAfterMs },
    });
  }
}

@Resolver('Quote')
class QuotesResolver {
  @Query()
  latest(): { id: string } {
    return { id: '42' };
  }

  @Query()
  status(): string {
    return 'up';
  }

  @CircuitBreaker('quotes')
  @Query()
  async quote(): Promise<string> {
    return 'quote';
  }

  @CircuitBreaker('quotes')
  @UseFilters(QuotesClosedFilter)
  @Query()
  async quoteOwn(): Promise<string> {
    return 'quote';
  }

  @CircuitBreaker('quotes')
  @ResolveField()
  async price(): Promise<number> {
    return 1;
  }

  @CircuitBreaker('quotes')
  @UseFilters(QuotesClosedFilter)
  @ResolveField()
  async priceOwn(): Promise<number> {
    return 1;
  }

  @CircuitBreaker('quotes')
  @Subscription()
  ticks(): AsyncIterator<{ ticks: number }> {
    return (async function* () {
      yield { ticks: 1 };
    })();
  }
}

const typeDefs = `
  type Quote { id: String, price: Float, priceOwn: Float }
  type Query { latest: Quote, status: String, quote: String, quoteOwn: String }
  type Subscription { ticks: Int }
`;

/** An app with `QuotesResolver`, GraphQL configured with `graphql`, and the breaker `quotes` tripped. */
async function start(
  graphql: Partial<ApolloDriverConfig> = {},
  { providers = [], ...options }: ResilienceModuleRootOptions & { providers?: Provider[] } = {},
): Promise<TestApp> {
  const app = await createApp(
    {
      imports: [GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, typeDefs, ...graphql })],
      providers: [QuotesResolver, ...providers],
    },
    options,
  );
  await app.breaker('quotes').trip('maintenance');
  return app;
}

const query = (app: TestApp, text: string) => app.http().post('/graphql').send({ query: text }).expect(200);

const UNAVAILABLE = { code: 'SERVICE_UNAVAILABLE', breaker: 'quotes', retryAfterMs: expect.any(Number) };

afterEach(async () => {
  await closeAllApps();
  caught.length = 0;
  formatted.length = 0;
});

describe('GraphQL (Apollo), in an app with its own formatError and exception filters', () => {
  it('answers SERVICE_UNAVAILABLE through the app’s catch-all filter and formatError, both finding the BreakerOpenError as cause', async () => {
    const app = await start(
      {
        // A production formatError: it hides internal errors and passes the others on.
        formatError: (answer: GraphQLFormattedError, error: unknown) => {
          formatted.push(unwrapResolverError(error));
          return answer.extensions?.code === 'INTERNAL_SERVER_ERROR' ? { message: 'Internal error' } : answer;
        },
      },
      { providers: [{ provide: APP_FILTER, useClass: AppGqlFilter }] },
    );

    const { body } = await query(app, '{ quote }');

    expect(body.errors).toEqual([expect.objectContaining({ path: ['quote'], extensions: UNAVAILABLE })]);
    expect(caught).toHaveLength(1);
    expect(isBreakerOpenError((caught[0] as Error).cause)).toBe(true);
    expect(isBreakerOpenError((formatted[0] as Error).cause)).toBe(true);
  });

  it('leaves the rejection to a filter bound to the resolver whose @Catch() names BreakerOpenError', async () => {
    const app = await start({}, { providers: [{ provide: APP_FILTER, useClass: AppGqlFilter }] });

    const { body } = await query(app, '{ quoteOwn quote }');

    expect(body.data).toEqual({ quoteOwn: null, quote: null });
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: 'Quotes are closed',
        path: ['quoteOwn'],
        extensions: { code: 'QUOTES_CLOSED', reopensInMs: expect.any(Number) },
      }),
      expect.objectContaining({ path: ['quote'], extensions: UNAVAILABLE }),
    ]);
    // The app's catch-all saw only the other field's mapped error.
    expect(caught).toHaveLength(1);
  });

  it('answers SERVICE_UNAVAILABLE through ResilienceErrorsFilter as APP_FILTER with mapErrors: false', async () => {
    const app = await start(
      {},
      { mapErrors: false, providers: [{ provide: APP_FILTER, useClass: ResilienceErrorsFilter }] },
    );

    const { body } = await query(app, '{ quote }');

    expect(body.errors).toEqual([
      expect.objectContaining({
        message: 'Circuit breaker "quotes" is forced_open and does not permit further calls',
        extensions: UNAVAILABLE,
      }),
    ]);
  });
});

describe('GraphQL (Apollo): rejected fields beside others', () => {
  it('answers the rejected field with its error and the others with their data, over HTTP 200', async () => {
    const app = await start({ fieldResolverEnhancers: ['interceptors'] });

    const { body } = await query(app, '{ status quote latest { id price } }');

    expect(body.data).toEqual({ status: 'up', quote: null, latest: { id: '42', price: null } });
    expect(body.errors).toEqual([
      expect.objectContaining({ path: ['quote'], extensions: UNAVAILABLE }),
      expect.objectContaining({ path: ['latest', 'price'], extensions: UNAVAILABLE }),
    ]);
  });

  it('answers each operation of a batched request on its own', async () => {
    const app = await start({ allowBatchedHttpRequests: true } as Partial<ApolloDriverConfig>);

    const { body } = await app
      .http()
      .post('/graphql')
      .send([{ query: '{ status }' }, { query: '{ quote }' }])
      .expect(200);

    expect(body).toEqual([
      { data: { status: 'up' } },
      {
        data: { quote: null },
        errors: [expect.objectContaining({ path: ['quote'], extensions: UNAVAILABLE })],
      },
    ]);
  });

  it('answers a @ResolveField with fieldResolverEnhancers: [filters] through ResilienceErrorsFilter as APP_FILTER', async () => {
    const app = await start(
      { fieldResolverEnhancers: ['filters'] },
      { providers: [{ provide: APP_FILTER, useClass: ResilienceErrorsFilter }] },
    );

    const { body } = await query(app, '{ latest { id price } }');

    expect(body.errors).toEqual([
      expect.objectContaining({ path: ['latest', 'price'], extensions: UNAVAILABLE }),
    ]);
  });

  it.each([
    ['without fieldResolverEnhancers', {}],
    ["with fieldResolverEnhancers: ['filters'] alone", { fieldResolverEnhancers: ['filters'] }],
    ["with fieldResolverEnhancers: ['guards']", { fieldResolverEnhancers: ['guards'] }],
  ] as Array<[string, Partial<ApolloDriverConfig>]>)(
    'answers SERVICE_UNAVAILABLE for a @ResolveField %s (no interceptor runs there)',
    async (_name, graphql) => {
      const app = await start(graphql);

      const { body } = await query(app, '{ latest { id price } }');

      expect(body.data).toEqual({ latest: { id: '42', price: null } });
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: 'Circuit breaker "quotes" is forced_open and does not permit further calls',
          path: ['latest', 'price'],
          extensions: UNAVAILABLE,
        }),
      ]);
    },
  );

  it('leaves a @ResolveField without interceptors to a filter bound to it whose @Catch() names BreakerOpenError', async () => {
    const app = await start({ fieldResolverEnhancers: ['filters'] });

    const { body } = await query(app, '{ latest { id priceOwn } }');

    expect(body.errors).toEqual([
      expect.objectContaining({
        message: 'Quotes are closed',
        path: ['latest', 'priceOwn'],
        extensions: { code: 'QUOTES_CLOSED', reopensInMs: expect.any(Number) },
      }),
    ]);
  });

  it('leaves a @ResolveField’s error to the app with mapErrors: false', async () => {
    const app = await start({}, { mapErrors: false });

    const { body } = await query(app, '{ latest { id price } }');

    expect(body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
  });
});

describe('GraphQL subscriptions (graphql-ws)', () => {
  it('answers a subscription whose breaker is open with SERVICE_UNAVAILABLE', async () => {
    const app = await start({ subscriptions: { 'graphql-ws': true } });
    await app.app.listen(0, '127.0.0.1');
    const { port } = app.app.getHttpServer().address() as AddressInfo;
    const client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      const received = await new Promise<unknown[]>((resolve, reject) => {
        const values: unknown[] = [];
        client.subscribe(
          { query: 'subscription { ticks }' },
          { next: (value) => values.push(value), error: reject, complete: () => resolve(values) },
        );
      });

      expect(received).toEqual([
        { errors: [expect.objectContaining({ path: ['ticks'], extensions: UNAVAILABLE })] },
      ]);
    } finally {
      await client.dispose();
    }
  });
});
