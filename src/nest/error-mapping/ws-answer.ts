import type { ArgumentsHost } from '@nestjs/common';
import { requireNestPeer } from '../nest-peer';
import type { ErrorAnswer } from './error-answers';
import { withCause } from './with-cause';

type WebSockets = typeof import('@nestjs/websockets');

let websockets: WebSockets | undefined;

/**
 * Loaded on the first WebSocket rejection, never by apps without gateways: an app with a gateway
 * has @nestjs/websockets.
 */
function loadWebSockets(): WebSockets {
  return (websockets ??= requireNestPeer<WebSockets>('@nestjs/websockets'));
}

/**
 * `answer` as the `WsException` a gateway's `@SubscribeMessage` handler throws: Nest's
 * `BaseWsExceptionFilter` sends its error, `{ status: 'error', code, message, breaker | policy,
 * retryAfterMs | timeoutMs }`, to the client as an `exception` event; its `cause` is the
 * resilience error. Nest answers any other error `{ status: 'error', message: 'Internal server
 * error' }` and logs its stack.
 */
export function wsAnswerFor(answer: ErrorAnswer, cause?: unknown): Error {
  return withCause(new (loadWebSockets().WsException)({ status: 'error', ...answer.details }), cause);
}

/**
 * Sends `answer` to the gateway's client as Nest's own handling would send its `WsException`:
 * an exception filter that matches a gateway's error is its only handling.
 */
export function answerWsClient(host: ArgumentsHost, answer: ErrorAnswer, cause?: unknown): void {
  new (loadWebSockets().BaseWsExceptionFilter)().catch(wsAnswerFor(answer, cause), host);
}
