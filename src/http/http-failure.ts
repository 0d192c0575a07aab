import { httpStatus } from '../core/default-predicates';

/** Statuses that say the origin is in trouble rather than the request: 5xx, 408 and 429. */
export function isFailureStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * What an origin's breaker is given for a response whose status counts as a failure (5xx,
 * 408, 429), so that it counts it; the caller still gets the response itself, unchanged.
 * An `isFailure` of yours in `http` options receives it (read `status`), or the error the
 * request failed with (a network error, an `AxiosError`).
 * @publicApi
 */
export class FailedResponseError<R extends { status: number } = { status: number }> extends Error {
  override readonly name = 'FailedResponseError';
  readonly status: number;

  constructor(
    /** The response, as the caller receives it; `{ status }` for a redirect hop to another origin (see `RedirectHop`). */
    readonly response: R,
    /** The origin's breaker: `http:<origin>`. */
    readonly breaker: string,
  ) {
    super(`HTTP ${response.status}, a failure for circuit breaker "${breaker}"`);
    this.status = response.status;
  }
}

/**
 * The default `isFailure` of an origin's breaker: a network error or a timeout, or a status of
 * 5xx, 408 or 429; any other status is not a failure. (A request its caller aborted, or one
 * never sent, is not counted whatever `isFailure` says.)
 */
export function isTransientHttpFailure(error: unknown): boolean {
  const status = httpStatus(error);
  return status === undefined || isFailureStatus(status);
}
