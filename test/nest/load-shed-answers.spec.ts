import { LoadShedError } from '../../src/core/errors';
import { answerFor } from '../../src/nest/error-mapping/error-answers';
import { graphqlErrorFor } from '../../src/nest/error-mapping/graphql-answer';
import type { ArgumentsHost } from '@nestjs/common';
import type { RpcException } from '@nestjs/microservices';
import { rpcAnswerFor } from '../../src/nest/error-mapping/rpc-answer';

describe('A shed call, as each transport answers it', () => {
  const error = new LoadShedError('search', 0.93, 120);
  const message =
    'Circuit breaker "search" shed the call: the event loop is 93% busy and 120 calls are running';

  it('answers HTTP 503 with Retry-After 1 s and a body that keeps the code', () => {
    const answer = answerFor(error)!;

    expect(answer.status).toBe(503);
    expect(answer.retryAfterMs).toBe(1000);
    expect(answer.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message,
      code: 'LOAD_SHED',
      breaker: 'search',
      retryAfterMs: 1000,
    });
  });

  it('answers RPC clients { code: LOAD_SHED, message, breaker, retryAfterMs }', () => {
    const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;

    expect((rpcAnswerFor(host, answerFor(error)!) as RpcException).getError()).toEqual({
      code: 'LOAD_SHED',
      message,
      breaker: 'search',
      retryAfterMs: 1000,
    });
  });

  it('answers GraphQL clients SERVICE_UNAVAILABLE with the breaker and retryAfterMs', () => {
    const graphqlError = graphqlErrorFor(answerFor(error)!, error);

    expect(graphqlError.message).toBe(message);
    expect(graphqlError.cause).toBe(error);
    expect(graphqlError.extensions).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      breaker: 'search',
      retryAfterMs: 1000,
    });
  });
});
