import type { ArgumentsHost, HttpStatus } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';

/** What an HTTP route answers for a breaker error: the status, the JSON body and the headers. */
export interface BreakerHttpReply<Body extends object = object> {
  readonly status: HttpStatus;
  readonly body: Body;
  readonly headers?: Readonly<Record<string, string>>;
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

/** Sets the headers of `reply` on `response`; its status and body are left to the caller. */
export function setReplyHeaders(
  adapterHost: HttpAdapterHost,
  response: unknown,
  { headers = {} }: BreakerHttpReply,
): void {
  for (const [name, value] of Object.entries(headers)) {
    adapterHost.httpAdapter.setHeader(response, name, value);
  }
}

/**
 * Answers the HTTP request of `host` with `reply`. Outside HTTP (RPC, WebSockets, GraphQL) it
 * does nothing, which leaves the error to the context's own handling.
 */
export function replyOverHttp(
  adapterHost: HttpAdapterHost,
  host: ArgumentsHost,
  reply: BreakerHttpReply,
): void {
  // Returning nothing outside HTTP means "not handled" to Nest's external exception handler.
  if (host.getType() !== 'http') return;
  const response: unknown = host.switchToHttp().getResponse();
  setReplyHeaders(adapterHost, response, reply);
  adapterHost.httpAdapter.reply(response, reply.body, reply.status);
}
