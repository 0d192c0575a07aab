/**
 * `exception` with `cause` as its `cause`, as `new Error(message, { cause })` sets it (not
 * enumerable, so no transport serialises it), for Nest exceptions whose constructor takes none
 * (`RpcException`, `WsException`): an app's catch-all filter finds the resilience error there,
 * as on HTTP and GraphQL. Nothing is set when `cause` is `undefined`.
 */
export function withCause<T extends Error>(exception: T, cause: unknown): T {
  if (cause !== undefined)
    Object.defineProperty(exception, 'cause', { value: cause, writable: true, configurable: true });
  return exception;
}
