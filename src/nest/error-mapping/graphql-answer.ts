import { HttpStatus, IntrinsicException } from '@nestjs/common';
import type { ErrorAnswer } from './error-answers';

/** The `extensions.code` of each status a resilience error maps to. */
const GRAPHQL_CODES: Partial<Record<number, string>> = {
  [HttpStatus.BAD_REQUEST]: 'BAD_USER_INPUT',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
  [HttpStatus.TOO_MANY_REQUESTS]: 'TOO_MANY_REQUESTS',
  [HttpStatus.GATEWAY_TIMEOUT]: 'GATEWAY_TIMEOUT',
};

/**
 * `answer` as what a resolver throws for GraphQL to answer with `extensions` `{ code:
 * 'SERVICE_UNAVAILABLE' | 'TOO_MANY_REQUESTS' | 'GATEWAY_TIMEOUT', breaker | policy,
 * retryAfterMs | timeoutMs }`. The response keeps HTTP 200, as GraphQL answers field errors
 * (Apollo would answer any other error `INTERNAL_SERVER_ERROR`). graphql-js wraps an error a
 * resolver throws in a `GraphQLError` that keeps its `extensions`; an `IntrinsicException`,
 * which Nest logs not (it logs any other error a resolver throws, with its stack).
 */
export function graphqlErrorFor(
  answer: ErrorAnswer,
  cause: unknown,
): Error & { readonly extensions: Readonly<Record<string, unknown>> } {
  const { code, message, ...rest } = answer.details;
  return Object.assign(new IntrinsicException(message, { cause }), {
    extensions: { code: GRAPHQL_CODES[answer.status] ?? code, ...rest },
  });
}
