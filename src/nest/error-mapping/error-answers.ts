import { HttpStatus } from '@nestjs/common';
import { type BreakerOpenError, type BreakerTimeoutError, isResilienceError } from '../../core/errors';

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
};

/** The answer for `error` when it is a resilience error that has one (by `code`, so any copy of the package matches). */
export function answerFor(error: unknown): ErrorAnswer | undefined {
  if (!isResilienceError(error) || !Object.hasOwn(ANSWERS, error.code)) return undefined;
  const answer = ANSWERS[error.code as keyof AnsweredErrors] as (error: unknown) => ErrorAnswer;
  return answer(error);
}
