import { isBreakerTimeoutError } from './errors';

/**
 * The HTTP status an error carries, read the way Nest's `HttpException` (`getStatus()`) and
 * most HTTP clients (`status`, `statusCode`, `response.status`) expose it, without importing them.
 */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    getStatus?: unknown;
    status?: unknown;
    statusCode?: unknown;
    response?: { status?: unknown };
  };
  const status =
    typeof e.getStatus === 'function'
      ? (e.getStatus as () => unknown)()
      : (e.status ?? e.statusCode ?? e.response?.status);
  return typeof status === 'number' ? status : undefined;
}

/** By default a client error (HTTP status below 500) is the caller's fault, not the dependency's. */
export function defaultIsFailure(error: unknown): boolean {
  const status = httpStatus(error);
  return status === undefined || status >= 500;
}

/** By default a timeout weighs half a failure: slowness is a weaker signal than an error. */
export function defaultFailureWeight(error: unknown): number {
  return isBreakerTimeoutError(error) ? 0.5 : 1;
}
