import {
  BadRequestException,
  GatewayTimeoutException,
  HttpException,
  type HttpExceptionOptions,
  HttpStatus,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import type { ErrorAnswer } from './error-answers';

/** Nest's own exception for each status, so an app's filters recognise it as they would their own. */
const EXCEPTIONS: Partial<
  Record<number, new (body: object, options?: HttpExceptionOptions) => HttpException>
> = {
  [HttpStatus.BAD_REQUEST]: BadRequestException,
  [HttpStatus.SERVICE_UNAVAILABLE]: ServiceUnavailableException,
  [HttpStatus.GATEWAY_TIMEOUT]: GatewayTimeoutException,
};

/**
 * `answer` as the `HttpException` an HTTP route throws (its `Retry-After` is for
 * {@link setAnswerHeaders} to set on the response, so that an exception filter that writes only
 * status and body, any app's catch-all, keeps it).
 */
export function httpExceptionFor(answer: ErrorAnswer, cause: unknown): HttpException {
  const Exception = EXCEPTIONS[answer.status];
  return Exception === undefined
    ? new HttpException(answer.body, answer.status, { cause })
    : new Exception(answer.body, { cause });
}

/**
 * Sets the headers `answer` asks for (`Retry-After`) on an HTTP response: the adapter's (an
 * Express response, a Fastify reply), or Node's own.
 */
export function setAnswerHeaders(
  adapterHost: HttpAdapterHost,
  response: unknown,
  { retryAfterMs }: ErrorAnswer,
): void {
  if (retryAfterMs === undefined) return;
  // Whole seconds, rounded up, at least 1.
  const seconds = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  // A middleware on Fastify gets Node's response, which the Fastify adapter of Nest 11 (and of
  // early 12.x) takes for a reply: its setHeader() threw, and the request got no answer.
  if (isNodeResponse(response)) {
    if (!response.headersSent) response.setHeader('Retry-After', seconds);
    return;
  }
  // Headers sent already (an error in the middle of a stream, SSE): the error goes in the body.
  if (!adapterHost.httpAdapter.isHeadersSent(response))
    adapterHost.httpAdapter.setHeader(response, 'Retry-After', seconds);
}

/** Node's own response (`http.ServerResponse`): it has no `status()`, which Express's and Fastify's have. */
function isNodeResponse(response: unknown): response is ServerResponse {
  return (
    typeof response === 'object' &&
    response !== null &&
    !('status' in response) &&
    typeof (response as Partial<ServerResponse>).setHeader === 'function'
  );
}
