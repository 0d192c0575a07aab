import { type ArgumentsHost, type ExecutionContext, IntrinsicException, Logger } from '@nestjs/common';
import type { RpcException } from '@nestjs/microservices';
import { LOG_CONTEXT } from '../resilience.constants';
import { requireNestPeer } from '../nest-peer';
import { EVENT_DROPPED } from '../resilience.messages';
import type { ErrorAnswer } from './error-answers';
import { withCause } from './with-cause';

let Exception: typeof RpcException | undefined;

/** Where `@EventPattern` / `@MessagePattern` say what a handler is (stable since Nest 6). */
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
/** `PatternHandler.EVENT`: a handler with no reply channel. */
const EVENT_HANDLER = 2;

const logger = new Logger(LOG_CONTEXT);

/**
 * `answer` as the `RpcException` a `@MessagePattern` handler throws: its error,
 * `{ code, message, breaker | policy, retryAfterMs | timeoutMs }`, is what the `ClientProxy`
 * receives, on every transport; its `cause` is the resilience error. Nest's RPC exception
 * handling answers any other error "Internal server error". An `@EventPattern` handler has no
 * one to answer: see {@link reportDroppedEvent}.
 */
export function rpcAnswerFor(host: ArgumentsHost, answer: ErrorAnswer, cause?: unknown): Error {
  if (isEventHandler(host))
    return withCause(Object.assign(new IntrinsicException(answer.details.message), answer.details), cause);
  // Loaded on the first RPC rejection, never by HTTP-only apps: an app with an RPC context has @nestjs/microservices.
  Exception ??= requireNestPeer<typeof import('@nestjs/microservices')>('@nestjs/microservices').RpcException;
  return withCause(new Exception({ ...answer.details }), cause);
}

/**
 * An event a breaker or policy kept from its handler is said in one warning line, with no
 * stack: an open breaker rejects every event, and Nest would log each as an error with its
 * stack (Nest 12) or not at all (Nest 11). The error still leaves the handler, as an exception
 * Nest does not log again ({@link rpcAnswerFor}), for a transport that hands event failures to
 * its client library (Kafka redelivers). Nothing for a `@MessagePattern` handler: its client
 * gets the answer.
 */
export function reportDroppedEvent(host: ArgumentsHost, { details }: ErrorAnswer): void {
  if (!isEventHandler(host)) return;
  const context = host as ExecutionContext;
  logger.warn(EVENT_DROPPED(`${context.getClass().name}.${context.getHandler().name}`, details));
}

/** Whether each handler met is an `@EventPattern` one: read once (the rejection path stays short). */
const eventHandlers = new WeakMap<object, boolean>();

function isEventHandler(host: ArgumentsHost): boolean {
  const handler = (host as Partial<ExecutionContext>).getHandler?.();
  if (handler === undefined) return false;
  let isEvent = eventHandlers.get(handler);
  if (isEvent === undefined) {
    isEvent = Reflect.getMetadata(PATTERN_HANDLER_METADATA, handler) === EVENT_HANDLER;
    eventHandlers.set(handler, isEvent);
  }
  return isEvent;
}
