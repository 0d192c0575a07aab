import { HttpStatus } from '@nestjs/common';
import {
  type BreakerOpenError,
  type BreakerTimeoutError,
  type InvalidBreakerKeyError,
  isResilienceError,
} from '../../core/errors';

/** The JSON body of a 503 answered for a breaker that rejected the call. @publicApi */
export interface BreakerOpenResponseBody {
  statusCode: 503;
  error: 'Service Unavailable';
  message: string;
  /** The breaker that rejected the call (`name#key` for a per-key breaker). */
  breaker: string;
  /** How long until the breaker may let a call through. */
  retryAfterMs: number;
}

/** The JSON body of a 504 answered for a call that outlasted its breaker's `timeout`. @publicApi */
export interface BreakerTimeoutResponseBody {
  statusCode: 504;
  error: 'Gateway Timeout';
  message: string;
  /** The breaker whose `timeout` elapsed (`name#key` for a per-key breaker). */
  breaker: string;
  /** The breaker's `timeout`, in ms. */
  timeoutMs: number;
}

/**
 * The JSON body of a 400 answered for a key a per-key breaker cannot have (not a string or a
 * number, or longer than `MAX_KEY_LENGTH`): keys come from requests, so the request is at fault.
 * @publicApi
 */
export interface InvalidBreakerKeyResponseBody {
  statusCode: 400;
  error: 'Bad Request';
  /** Names the breaker, describes the key (never echoing a long one) and says what was expected. */
  message: string;
  /** The name the per-key breaker would be kept under. */
  breaker: string;
  /** What a key must be, in words. */
  expected: string;
}

/**
 * What a resilience error stands for when it escapes a handler, whatever the context: the
 * status it maps to, the body, and how long a retry should wait. Each context (HTTP today)
 * turns it into its own kind of answer.
 */
export interface ErrorAnswer {
  readonly status: HttpStatus;
  readonly body: object;
  /** ms until a retry may succeed (HTTP: `Retry-After`); absent when the next call may go through at once. */
  readonly retryAfterMs?: number;
}

/** The errors that have an answer, by their `code`. */
interface AnsweredErrors {
  BREAKER_OPEN: BreakerOpenError;
  BREAKER_TIMEOUT: BreakerTimeoutError;
  INVALID_BREAKER_KEY: InvalidBreakerKeyError;
}

/** The one table of answers, by error `code`; each new kind of rejection adds its row here. */
const ANSWERS: { readonly [Code in keyof AnsweredErrors]: (error: AnsweredErrors[Code]) => ErrorAnswer } = {
  BREAKER_OPEN: (error) => ({
    status: HttpStatus.SERVICE_UNAVAILABLE,
    body: {
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: 'Service Unavailable',
      message: error.message,
      breaker: error.breaker,
      retryAfterMs: error.retryAfterMs,
    } satisfies BreakerOpenResponseBody,
    retryAfterMs: error.retryAfterMs,
  }),
  // No retryAfterMs: the breaker may well let the next call through.
  BREAKER_TIMEOUT: (error) => ({
    status: HttpStatus.GATEWAY_TIMEOUT,
    body: {
      statusCode: HttpStatus.GATEWAY_TIMEOUT,
      error: 'Gateway Timeout',
      message: error.message,
      breaker: error.breaker,
      timeoutMs: error.timeoutMs,
    } satisfies BreakerTimeoutResponseBody,
  }),
  INVALID_BREAKER_KEY: (error) => ({
    status: HttpStatus.BAD_REQUEST,
    body: {
      statusCode: HttpStatus.BAD_REQUEST,
      error: 'Bad Request',
      message: error.message,
      breaker: error.breaker,
      expected: error.expected,
    } satisfies InvalidBreakerKeyResponseBody,
  }),
};

/** The answer for `error` when it is a resilience error that has one (by `code`, so any copy of the package matches). */
export function answerFor(error: unknown): ErrorAnswer | undefined {
  if (!isResilienceError(error) || !Object.hasOwn(ANSWERS, error.code)) return undefined;
  const answer = ANSWERS[error.code as keyof AnsweredErrors] as (error: unknown) => ErrorAnswer;
  return answer(error);
}
