import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { Bulkhead, RateLimit, Timeout } from '../../src/nest/policy.decorators';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';
import { outlastTimeout } from '../nest/slow-call.fixture';

@Resolver()
class QuotesResolver {
  @CircuitBreaker('quotes')
  @Query()
  async quote(): Promise<string> {
    throw new Error('the quote service is down');
  }

  @CircuitBreaker('reports')
  @Query()
  async report(): Promise<string> {
    return outlastTimeout();
  }

  @RateLimit({ limit: 1, interval: 60_000 })
  @Query()
  async search(): Promise<string> {
    return 'results';
  }

  @Timeout(50)
  @Query()
  async slow(): Promise<string> {
    return outlastTimeout();
  }

  @Bulkhead({ maxConcurrent: 1 })
  @Query()
  async busy(): Promise<string> {
    return new Promise((resolve) => setTimeout(() => resolve('done'), 100));
  }

  @Query()
  async broken(): Promise<string> {
    throw new Error('a bug');
  }
}

const typeDefs =
  'type Query { quote: String, report: String, search: String, slow: String, busy: String, broken: String }';

describe('GraphQL (Apollo): a rejection answers a GraphQLError the client can act on', () => {
  let app: TestApp;

  beforeEach(async () => {
    app = await createApp(
      {
        imports: [GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, typeDefs })],
        providers: [QuotesResolver],
      },
      { breakers: { quotes: { failureThreshold: 1 }, reports: { timeout: 50 } } },
    );
  });
  afterEach(closeAllApps);

  const query = (field: string) =>
    app
      .http()
      .post('/graphql')
      .send({ query: `{ ${field} }` });

  it('answers SERVICE_UNAVAILABLE with the breaker and retryAfterMs, over HTTP 200', async () => {
    await query('quote').expect(200);

    const { body } = await query('quote').expect(200);

    expect(body.data).toEqual({ quote: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]).toMatchObject({
      message: 'Circuit breaker "quotes" is open and does not permit further calls',
      path: ['quote'],
      extensions: { code: 'SERVICE_UNAVAILABLE', breaker: 'quotes', retryAfterMs: expect.any(Number) },
    });
  });

  it('answers GATEWAY_TIMEOUT with timeoutMs when the resolver outlasts the breaker’s timeout', async () => {
    const { body } = await query('report').expect(200);

    expect(body.errors[0].extensions).toMatchObject({
      code: 'GATEWAY_TIMEOUT',
      breaker: 'reports',
      timeoutMs: 50,
    });
    expect(body.errors[0].extensions).not.toHaveProperty('retryAfterMs');
  });

  it('answers TOO_MANY_REQUESTS, GATEWAY_TIMEOUT and SERVICE_UNAVAILABLE for the policies, with the policy', async () => {
    await query('search').expect(200);
    const limited = (await query('search').expect(200)).body.errors[0].extensions;
    expect(limited).toMatchObject({ code: 'TOO_MANY_REQUESTS', policy: 'QuotesResolver.search' });
    expect(limited.retryAfterMs).toBeGreaterThan(0);

    const timedOut = (await query('slow').expect(200)).body.errors[0].extensions;
    expect(timedOut).toMatchObject({ code: 'GATEWAY_TIMEOUT', policy: 'QuotesResolver.slow', timeoutMs: 50 });

    const answers = await Promise.all([query('busy'), query('busy')]);
    const refused = answers.filter((answer) => answer.body.errors !== undefined);
    expect(refused).toHaveLength(1);
    expect(refused[0].body.errors[0].extensions).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      policy: 'QuotesResolver.busy',
      retryAfterMs: 1_000,
    });
  });

  it('logs nothing for a rejected query, as for a rejected route', async () => {
    const logged: unknown[][] = [];
    const record = (...args: unknown[]) => void logged.push(args);
    app.app.useLogger({ log: record, error: record, warn: record });
    await query('quote').expect(200);
    logged.length = 0;

    for (let i = 0; i < 3; i++) await query('quote').expect(200);

    expect(logged).toEqual([]);
  });

  it('leaves other errors to the app', async () => {
    const { body } = await query('broken').expect(200);

    expect(body.errors[0]).toMatchObject({ message: 'a bug', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});
