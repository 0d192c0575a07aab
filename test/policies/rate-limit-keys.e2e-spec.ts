import { Controller, Get, Headers } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import type { RpcException } from '@nestjs/microservices';
import { InvalidRateLimitKeyError } from '../../src/core/errors';
import { answerFor } from '../../src/nest/error-mapping/error-answers';
import { graphqlErrorFor } from '../../src/nest/error-mapping/graphql-answer';
import { rpcAnswerFor } from '../../src/nest/error-mapping/rpc-answer';
import { RateLimit } from '../../src/nest/policy.decorators';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';

const EXPECTED = 'a string or a number, at most 256 characters long';

@Controller()
class SearchController {
  @RateLimit({ limit: 1, interval: 60_000, key: (tenant: string) => tenant })
  @Get('search')
  async search(@Headers('x-tenant') tenant: string | undefined): Promise<string> {
    return `results for ${tenant}`;
  }
}

describe('rate-limit keys from requests, over HTTP', () => {
  afterEach(closeAllApps);

  it('should answer 400 naming the policy for a key no bucket can have, and keep each valid key apart', async () => {
    const t = await createApp({ controllers: [SearchController] });

    const tooLong = await t.http().get('/search').set('x-tenant', 'x'.repeat(300)).expect(400);
    expect(tooLong.headers['retry-after']).toBeUndefined();
    expect(tooLong.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: `Policy "SearchController.search": invalid rate-limit key: a string of 300 characters; expected ${EXPECTED}`,
      code: 'INVALID_RATE_LIMIT_KEY',
      policy: 'SearchController.search',
      expected: EXPECTED,
    });
    // No tenant: no longer the bucket of every request without one.
    const missing = await t.http().get('/search').expect(400);
    expect(missing.body).toMatchObject({
      code: 'INVALID_RATE_LIMIT_KEY',
      message: expect.stringContaining('undefined'),
    });

    await t.http().get('/search').set('x-tenant', 'a').expect(200, 'results for a');
    await t.http().get('/search').set('x-tenant', 'a').expect(429);
    await t.http().get('/search').set('x-tenant', 'b').expect(200);
  });
});

describe('An invalid rate-limit key, as each transport answers it', () => {
  const error = new InvalidRateLimitKeyError('search', { id: 1 }, EXPECTED);
  const message = `Policy "search": invalid rate-limit key: a value of type object; expected ${EXPECTED}`;

  it('answers RPC clients { code: INVALID_RATE_LIMIT_KEY, message, policy }', () => {
    const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;

    expect((rpcAnswerFor(host, answerFor(error)!) as RpcException).getError()).toEqual({
      code: 'INVALID_RATE_LIMIT_KEY',
      message,
      policy: 'search',
    });
  });

  it('answers GraphQL clients BAD_USER_INPUT with the policy, as an invalid breaker key', () => {
    const graphqlError = graphqlErrorFor(answerFor(error)!, error);

    expect(graphqlError.message).toBe(message);
    expect(graphqlError.extensions).toEqual({ code: 'BAD_USER_INPUT', policy: 'search' });
  });
});
