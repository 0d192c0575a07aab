import type { ArgumentsHost, ExecutionContext } from '@nestjs/common';
import { ResilienceErrorFilter } from './resilience-error.filter';

/** Where `@UseFilters()` keeps a handler's or a class's filters (stable since Nest 5). */
const EXCEPTION_FILTERS_METADATA = '__exceptionFilters__';
/** Where `@Catch()` keeps the classes a filter catches, none for a catch-all (stable since Nest 5). */
const FILTER_CATCH_EXCEPTIONS = '__filterCatchExceptions__';

/**
 * Whether the app bound a filter of its own for `error` to the handler of `host`: the filter
 * Nest would pick among those `@UseFilters()` binds to the handler and to its class catches
 * `error` by naming its class (`@Catch(BreakerOpenError)`, `@Catch(ResilienceError)`) and would
 * not catch `mapped`, what the module throws in its place. Such a filter is the app's answer for
 * that error there, as Nest users expect of a filter bound closest to a handler: it gets the
 * error unmapped. A catch-all, a filter that catches `mapped` too (`@Catch(Error)`), the
 * module's own filters, and filters bound app-wide (which no handler shows) get `mapped`.
 */
export function boundFilterCatches(host: ArgumentsHost, error: unknown, mapped: unknown): boolean {
  const context = host as Partial<ExecutionContext>;
  const handler = context.getHandler?.();
  const type = context.getClass?.();
  if (handler === undefined || type === undefined) return false;
  for (const { catches, own } of boundFiltersOf(handler, type)) {
    const takesMapped = catches.length === 0 || catches.some((caught) => isInstance(mapped, caught));
    if (!takesMapped && !catches.some((caught) => isInstance(error, caught))) continue;
    return !takesMapped && !own;
  }
  return false;
}

/** A filter bound to a handler or its class, as the mapping weighs it. */
interface BoundFilter {
  /** `@Catch()`'s classes, empty for a catch-all. */
  readonly catches: readonly unknown[];
  /** One of the module's own filters. */
  readonly own: boolean;
}

/**
 * The filters bound to each handler, by the class it is called on (an inherited handler serves
 * several): read at its first mapped error, as metadata does not change once the app is built.
 */
const boundFilters = new WeakMap<object, WeakMap<object, readonly BoundFilter[]>>();

/** The filters bound to `handler` and to its class `type`, in the order Nest tries them. */
function boundFiltersOf(handler: object, type: object): readonly BoundFilter[] {
  let byClass = boundFilters.get(handler);
  if (byClass === undefined) {
    byClass = new WeakMap();
    boundFilters.set(handler, byClass);
  }
  let found = byClass.get(type);
  if (found === undefined) {
    // Nest tries the handler's filters before the class's, each from the last one listed.
    found = [...filtersOf(handler).reverse(), ...filtersOf(type).reverse()].map((filter) => ({
      catches: catchesOf(filter),
      own: isModuleFilter(filter),
    }));
    byClass.set(type, found);
  }
  return found;
}

/** The filters `@UseFilters()` binds to `target`, classes or instances, as Nest keeps them. */
function filtersOf(target: object): object[] {
  const filters: unknown = Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, target);
  if (!Array.isArray(filters)) return [];
  return filters.filter(
    (filter): filter is object =>
      typeof filter === 'function' ||
      (typeof filter === 'object' &&
        filter !== null &&
        typeof (filter as { catch?: unknown }).catch === 'function'),
  );
}

/** The classes `filter` (a class or an instance) catches: `@Catch()`'s arguments, empty for a catch-all. */
function catchesOf(filter: object): unknown[] {
  const prototype: unknown = typeof filter === 'function' ? filter.prototype : Object.getPrototypeOf(filter);
  if (typeof prototype !== 'object' || prototype === null) return [];
  // Nest 12's @Catch() keeps them on the prototype too; Nest 11's only on the class.
  const catches: unknown =
    Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, prototype) ??
    Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, (prototype as { constructor: object }).constructor);
  return Array.isArray(catches) ? catches : [];
}

/** `value instanceof type`, false where `type` cannot be a right-hand side of it. */
function isInstance(value: unknown, type: unknown): boolean {
  try {
    return typeof type === 'function' && value instanceof type;
  } catch {
    return false;
  }
}

/** The module's own filters answer as the mapping does: they never make it step aside. */
function isModuleFilter(filter: object): boolean {
  return (typeof filter === 'function' ? filter.prototype : filter) instanceof ResilienceErrorFilter;
}
