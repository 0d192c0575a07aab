import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { answerFor, type ErrorAnswer } from './error-answers';
import { graphqlErrorFor } from './graphql-answer';
import { httpExceptionFor } from './http-answer';
import { rpcAnswerFor } from './rpc-answer';
import { wsAnswerFor } from './ws-answer';

/** Builds what a handler of one context type throws in place of a resilience error. */
type ContextMapping = (
  adapterHost: HttpAdapterHost,
  host: ArgumentsHost,
  answer: ErrorAnswer,
  error: unknown,
) => unknown;

/** The contexts whose handlers get a mapped error, by `host.getType()`. */
const CONTEXTS: ReadonlyMap<string, ContextMapping> = new Map<string, ContextMapping>([
  ['http', httpExceptionFor],
  ['rpc', (_adapterHost, host, answer) => rpcAnswerFor(host, answer)],
  ['graphql', (_adapterHost, _host, answer, error) => graphqlErrorFor(answer, error)],
  ['ws', (_adapterHost, _host, answer) => wsAnswerFor(answer)],
]);

/**
 * Turns a resilience error that escapes a handler into the answer its context expects (on
 * HTTP: Nest's `ServiceUnavailableException` with `Retry-After`, `GatewayTimeoutException`;
 * on RPC an `RpcException`, or one warning line for an event; on GraphQL a `GraphQLError`; on a
 * WebSocket gateway a `WsException`), before any exception filter sees it. Any other error, an error of a context without a
 * mapping, and every error once the module's `mapErrors` is `false`, come back unchanged.
 */
export class ResilienceErrorMapper {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    /** The module's `mapErrors` setting. */
    private readonly enabled: boolean,
  ) {}

  map(host: ArgumentsHost, error: unknown): unknown {
    const toContext = this.enabled ? CONTEXTS.get(host.getType()) : undefined;
    const answer = toContext && answerFor(error);
    return answer ? toContext(this.adapterHost, host, answer, error) : error;
  }
}
