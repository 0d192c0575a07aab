import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { boundFilterCatches } from './bound-filters';
import { answerFor, type ErrorAnswer } from './error-answers';
import { graphqlErrorFor } from './graphql-answer';
import { httpExceptionFor, setAnswerHeaders } from './http-answer';
import { reportDroppedEvent, rpcAnswerFor } from './rpc-answer';
import { wsAnswerFor } from './ws-answer';

/** How a handler of one context type answers a resilience error. */
interface ContextMapping {
  /** What the handler throws in place of the error (its `cause`). */
  exception(host: ArgumentsHost, answer: ErrorAnswer, error: unknown): unknown;
  /** What else the answer takes once that is thrown: a `Retry-After` header, a log line. */
  thrown?(adapterHost: HttpAdapterHost, host: ArgumentsHost, answer: ErrorAnswer): void;
}

/** The contexts whose handlers get a mapped error, by `host.getType()`. */
const CONTEXTS: ReadonlyMap<string, ContextMapping> = new Map<string, ContextMapping>([
  [
    'http',
    {
      exception: (_host, answer, error) => httpExceptionFor(answer, error),
      thrown: (adapterHost, host, answer) =>
        setAnswerHeaders(adapterHost, host.switchToHttp().getResponse(), answer),
    },
  ],
  [
    'rpc',
    {
      exception: (host, answer, error) => rpcAnswerFor(host, answer, error),
      thrown: (_adapterHost, host, answer) => reportDroppedEvent(host, answer),
    },
  ],
  ['graphql', { exception: (_host, answer, error) => graphqlErrorFor(answer, error) }],
  ['ws', { exception: (_host, answer, error) => wsAnswerFor(answer, error) }],
]);

/**
 * Turns a resilience error that escapes a handler into the answer its context expects (on
 * HTTP: Nest's `ServiceUnavailableException` with `Retry-After`, `GatewayTimeoutException`;
 * on RPC an `RpcException`, or one warning line for an event; on GraphQL a `GraphQLError`; on a
 * WebSocket gateway a `WsException`), each with the error as its `cause`, before any exception
 * filter sees it. Any other error, an error of a context without a mapping, an error a filter
 * the app bound to the handler names in its `@Catch()` (see {@link boundFilterCatches}), and
 * every error once the module's `mapErrors` is `false`, come back unchanged.
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
    if (!answer) return error;
    const exception = toContext.exception(host, answer, error);
    if (boundFilterCatches(host, error, exception)) return error;
    toContext.thrown?.(this.adapterHost, host, answer);
    return exception;
  }
}
