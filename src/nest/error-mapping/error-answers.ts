import { HttpStatus } from '@nestjs/common';
import {
  type BreakerOpenError,
  type BreakerTimeoutError,
  type InvalidBreakerKeyError,
  type InvalidRateLimitKeyError,
  isResilienceError,
  type LoadShedError,
} from '../../core/errors';
import type {
  BulkheadFullError,
  RateLimitedError,
  TimeoutExceededError,
} from '../../core/policies/policy-errors';

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

/** The JSON body of a 503 answered for a call a breaker's `loadShed` refused. @publicApi */
export interface LoadShedResponseBody {
  statusCode: 503;
  error: 'Service Unavailable';
  message: string;
  code: 'LOAD_SHED';
  /** The breaker that shed the call (`name#key` for a per-key breaker). */
  breaker: string;
  /** How long the caller should wait: 1000 (the load is sampled every 500 ms). */
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
 * The JSON body of a 400 answered for a key a rate limit's bucket cannot have (the rule of
 * per-key breakers' keys): keys come from requests, so the request is at fault.
 * @publicApi
 */
export interface InvalidRateLimitKeyResponseBody {
  statusCode: 400;
  error: 'Bad Request';
  /** Names the policy, describes the key (never echoing a long one) and says what was expected. */
  message: string;
  code: 'INVALID_RATE_LIMIT_KEY';
  /** The policy whose rate limit was asked (`Class.method` for a decorator's). */
  policy: string;
  /** What a key must be, in words. */
  expected: string;
}

/**
 * The JSON body of an answer for a call a policy refused or timed out: 503 (`BULKHEAD_FULL`,
 * with `Retry-After`), 429 (`RATE_LIMITED`, with `Retry-After`) or 504 (`TIMEOUT`, no
 * `Retry-After`).
 * @publicApi
 */
export interface PolicyErrorResponseBody {
  statusCode: 503 | 429 | 504;
  error: 'Service Unavailable' | 'Too Many Requests' | 'Gateway Timeout';
  message: string;
  /** The error's code: `BULKHEAD_FULL`, `RATE_LIMITED` or `TIMEOUT`. */
  code: string;
  /** The policy at fault: its name, or `Class.method` for a decorator's. */
  policy: string;
  /** How long until a call may go through (not for a timeout). */
  retryAfterMs?: number;
  /** The total timeout that elapsed (a timeout only). */
  timeoutMs?: number;
}

/**
 * What a resilience error says, whatever the transport: the error an RPC client receives
 * (`RpcException`), and the fields of a GraphQL error's `extensions` besides its `code`.
 * A rejection carries `retryAfterMs`; a timeout carries `timeoutMs` instead.
 * @publicApi
 */
export interface ResilienceErrorDetails {
  /** The error's `code`, e.g. `BREAKER_OPEN`. */
  code: string;
  message: string;
  /** The breaker at fault (`name#key` for a per-key breaker), for a breaker's error. */
  breaker?: string;
  /** The policy at fault, for a policy's error. */
  policy?: string;
  /** How long until a call may go through again. */
  retryAfterMs?: number;
  /** The timeout that elapsed, in ms. */
  timeoutMs?: number;
}

/**
 * What a resilience error stands for when it escapes a handler, whatever the context: the
 * HTTP status it maps to, the HTTP body, the details other transports send, and how long a
 * retry should wait. Each context turns it into its own kind of answer.
 */
export interface ErrorAnswer {
  readonly status: HttpStatus;
  readonly body: object;
  readonly details: ResilienceErrorDetails;
  /** ms until a retry may succeed (HTTP: `Retry-After`); absent when the next call may go through at once. */
  readonly retryAfterMs?: number;
}

/** The errors that have an answer, by their `code`. */
interface AnsweredErrors {
  BREAKER_OPEN: BreakerOpenError;
  BREAKER_TIMEOUT: BreakerTimeoutError;
  INVALID_BREAKER_KEY: InvalidBreakerKeyError;
  INVALID_RATE_LIMIT_KEY: InvalidRateLimitKeyError;
  LOAD_SHED: LoadShedError;
  BULKHEAD_FULL: BulkheadFullError;
  RATE_LIMITED: RateLimitedError;
  TIMEOUT: TimeoutExceededError;
}

/**
 * The one table of answers, by error `code`; each new kind of rejection adds its row here and
 * every context (HTTP, RPC, GraphQL) answers it.
 */
const ANSWERS: { readonly [Code in keyof AnsweredErrors]: (error: AnsweredErrors[Code]) => ErrorAnswer } = {
  BREAKER_OPEN: (error) =>
    answer(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', {
      code: error.code,
      message: error.message,
      breaker: error.breaker,
      retryAfterMs: error.retryAfterMs,
    }),
  // No retryAfterMs: the breaker may well let the next call through.
  BREAKER_TIMEOUT: (error) =>
    answer(HttpStatus.GATEWAY_TIMEOUT, 'Gateway Timeout', {
      code: error.code,
      message: error.message,
      breaker: error.breaker,
      timeoutMs: error.timeoutMs,
    }),
  // The body keeps its code: a shed and an open breaker both answer 503, and a client backs off differently.
  LOAD_SHED: (error) => {
    const details = {
      code: error.code,
      message: error.message,
      breaker: error.breaker,
      retryAfterMs: error.retryAfterMs,
    };
    const body: LoadShedResponseBody = {
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: 'Service Unavailable',
      ...details,
    };
    return { ...answer(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', details), body };
  },
  INVALID_BREAKER_KEY: (error) => ({
    ...answer(HttpStatus.BAD_REQUEST, 'Bad Request', {
      code: error.code,
      message: error.message,
      breaker: error.breaker,
    }),
    body: {
      statusCode: HttpStatus.BAD_REQUEST,
      error: 'Bad Request',
      message: error.message,
      breaker: error.breaker,
      expected: error.expected,
    } satisfies InvalidBreakerKeyResponseBody,
  }),
  // As a policy's answer, the body keeps its code: a client tells it from a bad breaker key.
  INVALID_RATE_LIMIT_KEY: (error) => {
    const details = { code: error.code, message: error.message, policy: error.policy };
    const body: InvalidRateLimitKeyResponseBody = {
      statusCode: HttpStatus.BAD_REQUEST,
      error: 'Bad Request',
      ...details,
      expected: error.expected,
    };
    return { ...answer(HttpStatus.BAD_REQUEST, 'Bad Request', details), body };
  },
  BULKHEAD_FULL: (error) =>
    policyAnswer(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', {
      code: error.code,
      message: error.message,
      policy: error.policy,
      retryAfterMs: error.retryAfterMs,
    }),
  RATE_LIMITED: (error) =>
    policyAnswer(HttpStatus.TOO_MANY_REQUESTS, 'Too Many Requests', {
      code: error.code,
      message: error.message,
      policy: error.policy,
      retryAfterMs: error.retryAfterMs,
    }),
  // No Retry-After: the next call may well finish in time.
  TIMEOUT: (error) =>
    policyAnswer(HttpStatus.GATEWAY_TIMEOUT, 'Gateway Timeout', {
      code: error.code,
      message: error.message,
      policy: error.policy,
      timeoutMs: error.timeoutMs,
    }),
};

/** A policy's answer: its body keeps the `code`, so a client tells a full bulkhead from an open breaker. */
function policyAnswer(status: HttpStatus, reason: string, details: ResilienceErrorDetails): ErrorAnswer {
  return { ...answer(status, reason, details), body: { statusCode: status, error: reason, ...details } };
}

/**
 * An answer whose HTTP body is `{ statusCode, error, ...details }` without the code (the
 * `BreakerOpenResponseBody` and `BreakerTimeoutResponseBody` of a breaker's errors).
 */
function answer(status: HttpStatus, reason: string, details: ResilienceErrorDetails): ErrorAnswer {
  const body: Record<string, unknown> = { statusCode: status, error: reason, ...details };
  delete body.code;
  return { status, body, details, retryAfterMs: details.retryAfterMs };
}

/** The answer for `error` when it is a resilience error that has one (by `code`, so any copy of the package matches). */
export function answerFor(error: unknown): ErrorAnswer | undefined {
  if (!isResilienceError(error) || !Object.hasOwn(ANSWERS, error.code)) return undefined;
  const answer = ANSWERS[error.code as keyof AnsweredErrors] as (error: unknown) => ErrorAnswer;
  return answer(error);
}
