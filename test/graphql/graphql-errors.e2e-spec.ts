import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
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

  @Query()
  async broken(): Promise<string> {
    throw new Error('a bug');
  }
}

const typeDefs = 'type Query { quote: String, report: String, broken: String }';

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

  it('leaves other errors to the app', async () => {
    const { body } = await query('broken').expect(200);

    expect(body.errors[0]).toMatchObject({ message: 'a bug', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});
