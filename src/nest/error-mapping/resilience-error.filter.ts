import { type ArgumentsHost, type ExceptionFilter, Inject } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { throwError } from 'rxjs';
import { answerFor } from './error-answers';
import { graphqlErrorFor } from './graphql-answer';
import { setAnswerHeaders } from './http-answer';
import { answerWsClient } from './ws-answer';

/**
 * What the opt-in filters share: answer the error as the module's mapping would, in every
 * context: an HTTP request (status, body, `Retry-After`), a WebSocket gateway's client (whose
 * handler takes a matching filter as its only handling), an RPC client (the error Nest's RPC
 * handling sends is `{ code, message, breaker | policy, retryAfterMs | timeoutMs }`), a GraphQL
 * field (the `GraphQLError` with its `extensions`). Subclasses say which errors they catch with
 * `@Catch()`.
 */
export abstract class ResilienceErrorFilter implements ExceptionFilter {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): unknown {
    const answer = answerFor(error);
    // Returning nothing means "not handled" to Nest's RPC and GraphQL exception handlers.
    if (answer === undefined) return undefined;
    switch (host.getType<string>()) {
      case 'http': {
        const response: unknown = host.switchToHttp().getResponse();
        setAnswerHeaders(this.adapterHost, response, answer);
        this.adapterHost.httpAdapter.reply(response, answer.body, answer.status);
        return undefined;
      }
      case 'ws':
        return answerWsClient(host, answer, error);
      // What the client receives, as Nest's RPC handling sends an RpcException's error. An
      // event's rejection goes nowhere, and unlike the mapping's it is not logged: a filter's
      // host does not tell an event from a message.
      case 'rpc':
        return throwError(() => ({ ...answer.details }));
      // Nest's GraphQL handling gives what a filter returns to graphql-js, which answers a
      // returned error as the field's error.
      case 'graphql':
        return graphqlErrorFor(answer, error);
      default:
        return undefined;
    }
  }
}

/**
 * A class that stands for the errors `matches` accepts in `@Catch()`: Nest picks a filter with
 * `instanceof`, and a guard answers by the error's `code`, so errors thrown by another copy
 * of the package match too.
 */
export function errorBrand(matches: (value: unknown) => boolean): abstract new () => object {
  abstract class ErrorBrand {
    static [Symbol.hasInstance](value: unknown): boolean {
      return matches(value);
    }
  }
  return ErrorBrand;
}
