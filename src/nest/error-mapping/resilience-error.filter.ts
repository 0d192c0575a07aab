import { type ArgumentsHost, type ExceptionFilter, Inject } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { answerFor } from './error-answers';
import { setAnswerHeaders } from './http-answer';
import { answerWsClient } from './ws-answer';

/**
 * What the opt-in filters share: answer an HTTP request, or a WebSocket gateway's client (whose
 * handler takes a matching filter as its only handling), with the error's answer. On RPC and
 * GraphQL it does nothing, which leaves the error to the context's own handling. Subclasses say
 * which errors they catch with `@Catch()`.
 */
export abstract class ResilienceErrorFilter implements ExceptionFilter {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const answer = answerFor(error);
    // Returning nothing means "not handled" to Nest's external exception handler.
    if (answer === undefined) return;
    if (host.getType() === 'ws') return answerWsClient(host, answer);
    if (host.getType() !== 'http') return;
    const response: unknown = host.switchToHttp().getResponse();
    setAnswerHeaders(this.adapterHost, response, answer);
    this.adapterHost.httpAdapter.reply(response, answer.body, answer.status);
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
