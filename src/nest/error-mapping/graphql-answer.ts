import { HttpStatus } from '@nestjs/common';
import type { GraphQLError } from 'graphql';
import type { ErrorAnswer } from './error-answers';

/** The `extensions.code` of each status a resilience error maps to. */
const GRAPHQL_CODES: Partial<Record<number, string>> = {
  [HttpStatus.BAD_REQUEST]: 'BAD_USER_INPUT',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
  [HttpStatus.TOO_MANY_REQUESTS]: 'TOO_MANY_REQUESTS',
  [HttpStatus.GATEWAY_TIMEOUT]: 'GATEWAY_TIMEOUT',
};

let Exception: typeof GraphQLError | undefined;

/**
 * `answer` as the `GraphQLError` a resolver throws: `extensions` are `{ code:
 * 'SERVICE_UNAVAILABLE' | 'TOO_MANY_REQUESTS' | 'GATEWAY_TIMEOUT', breaker | policy,
 * retryAfterMs | timeoutMs }`. The response keeps HTTP 200, as GraphQL answers field errors
 * (Apollo would answer any other error `INTERNAL_SERVER_ERROR`).
 */
export function graphqlErrorFor(answer: ErrorAnswer, cause: unknown): GraphQLError {
  // Loaded on the first GraphQL rejection: an app with a GraphQL context has graphql.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, never loaded by HTTP-only apps
  Exception ??= (require('graphql') as typeof import('graphql')).GraphQLError;
  const { code, message, ...rest } = answer.details;
  return new Exception(message, {
    originalError: cause instanceof Error ? cause : undefined,
    extensions: { code: GRAPHQL_CODES[answer.status] ?? code, ...rest },
  });
}
