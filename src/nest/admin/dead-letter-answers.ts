import {
  BadGatewayException,
  ConflictException,
  type HttpException,
  HttpStatus,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { isResilienceError, type ResilienceError } from '../../core/errors';
import { ReplayedNotRemovedError } from '../dead-letters/dead-letter-errors';
import type { ReplayOutcome } from '../dead-letters/dead-letters.service';

/** The body of `POST <admin>/dead-letters/:id/replay` when the call succeeded (200). @publicApi */
export interface ReplaySucceededBody {
  id: string;
  policy: string;
  outcome: 'succeeded';
}

/** Errors of the dead letters that are the request's fault, with the status each answers. */
const STATUS_OF: Readonly<Record<string, HttpStatus>> = {
  DEAD_LETTER_NOT_FOUND: HttpStatus.NOT_FOUND,
  NO_REPLAYER: HttpStatus.CONFLICT,
  REPLAY_IN_PROGRESS: HttpStatus.CONFLICT,
};

/**
 * Runs a dead-letter action for an admin route: an unknown id answers 404, a letter whose
 * policy has no replayer (or that is being replayed) 409, each body `{ statusCode, error,
 * message, code, id }`; a replay whose call succeeded but whose letter the store could not
 * remove 503 with `code: 'REPLAYED_NOT_REMOVED'` and `outcome: 'succeeded'` (not a plain "store
 * unreachable", which would invite running it again); anything else goes on as it is.
 */
export async function forAdmin<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (isResilienceError(error) && Object.hasOwn(STATUS_OF, error.code)) throw refusal(error);
    if (error instanceof ReplayedNotRemovedError) throw notRemoved(error);
    throw error;
  }
}

function notRemoved({ message, code, id, policy }: ReplayedNotRemovedError): HttpException {
  return new ServiceUnavailableException({
    statusCode: HttpStatus.SERVICE_UNAVAILABLE,
    error: 'Service Unavailable',
    message,
    code,
    id,
    policy,
    outcome: 'succeeded',
  });
}

/**
 * 200 for a replay that succeeded; 502 with the error for one that failed again (the letter
 * stays); 503 with `outcome: 'not_run'`, the refusal's `code` and `retryAfterMs` for one the
 * policy's own protection refused before its call ran (the letter stays as it was; the route
 * sets `Retry-After` from {@link replayRetryAfter}).
 */
export function replayAnswer(outcome: ReplayOutcome): ReplaySucceededBody {
  const { id, policy } = outcome.letter;
  if (outcome.ok) return { id, policy, outcome: 'succeeded' };
  if (outcome.notRun === true) {
    const { error, retryAfterMs } = outcome;
    throw new ServiceUnavailableException({
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: 'Service Unavailable',
      message: `Dead letter "${id}" (policy "${policy}") was not run: ${error.message}. It is kept as it was; replay it again in ${retryAfterSeconds(retryAfterMs)} s`,
      ...(error.code !== undefined && { code: error.code }),
      id,
      policy,
      outcome: 'not_run',
      retryAfterMs,
      cause: error,
    });
  }
  throw new BadGatewayException({
    statusCode: HttpStatus.BAD_GATEWAY,
    error: 'Bad Gateway',
    message: `Dead letter "${id}" (policy "${policy}") failed again: ${outcome.error.message}`,
    id,
    policy,
    outcome: 'failed',
    cause: outcome.error,
  });
}

function refusal(error: ResilienceError): HttpException {
  const status = STATUS_OF[error.code];
  const Exception = status === HttpStatus.NOT_FOUND ? NotFoundException : ConflictException;
  const { id } = error as ResilienceError & { id: string };
  return new Exception({
    statusCode: status,
    error: status === HttpStatus.NOT_FOUND ? 'Not Found' : 'Conflict',
    message: error.message,
    code: error.code,
    id,
  });
}

/** The `Retry-After` (whole seconds, at least 1) of a replay that was not run; undefined for any other outcome. */
export function replayRetryAfter(outcome: ReplayOutcome): string | undefined {
  return !outcome.ok && outcome.notRun === true ? String(retryAfterSeconds(outcome.retryAfterMs)) : undefined;
}

function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
