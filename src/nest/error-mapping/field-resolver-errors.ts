import type { ArgumentsHost } from '@nestjs/common';
import type { BreakerRegistry } from '../../core/registry';
import { boundFilterCatches } from './bound-filters';
import { answerFor } from './error-answers';
import { graphqlErrorFor } from './graphql-answer';

/** Where `@ResolveField` says a method resolves a field of a type (stable since @nestjs/graphql 7). */
const RESOLVER_PROPERTY_METADATA = 'graphql:resolve_property';

/** The registries of apps that map errors (`mapErrors` not `false`). */
const mapping = new WeakSet<BreakerRegistry>();

/** Has the protected `@ResolveField` methods of the app of `registry` answer as the mapping does. */
export function mapFieldResolverErrors(registry: BreakerRegistry): void {
  mapping.add(registry);
}

/** Whether `handler` is a `@ResolveField` method. */
export function isFieldResolver(handler: object): boolean {
  return Reflect.getMetadata(RESOLVER_PROPERTY_METADATA, handler) === true;
}

/**
 * What the protected `@ResolveField` method `handler` of `instance` throws for `error`: the
 * `GraphQLError` answer of the mapping (`extensions` `{ code: 'SERVICE_UNAVAILABLE', breaker,
 * retryAfterMs }`, …, `cause` the error). Nest applies interceptors to a field resolver only
 * when `fieldResolverEnhancers` lists them, so without it the mapping never saw the error and
 * Apollo answered `INTERNAL_SERVER_ERROR`; where the interceptor runs, it passes the answer on.
 * `error` as it is for any other error, with `mapErrors: false`, and when a filter bound to the
 * method or its class names the error in its `@Catch()` (as the mapping steps aside for it).
 */
export function fieldResolverError(
  registry: BreakerRegistry,
  handler: object,
  instance: unknown,
  error: unknown,
): unknown {
  if (!mapping.has(registry)) return error;
  const answer = answerFor(error);
  if (answer === undefined) return error;
  const mapped = graphqlErrorFor(answer, error);
  const type: unknown = (instance as { constructor?: unknown } | null | undefined)?.constructor;
  const host = { getHandler: () => handler, getClass: () => type } as unknown as ArgumentsHost;
  return typeof type === 'function' && boundFilterCatches(host, error, mapped) ? error : mapped;
}
