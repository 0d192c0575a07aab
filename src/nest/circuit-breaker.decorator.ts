import { Logger } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner } from '@nestjs/core';
import { defer, isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { Breaker } from '../core/breaker';
import { toBreakerKey, type BreakerKeyInput } from '../core/breaker-key';
import { InvalidBreakerOptionsError } from '../core/errors';
import type { BreakerRegistry } from '../core/registry';
import { callThroughBreaker, observeThroughBreaker, type Recover } from './breaker-call';
import { CIRCUIT_BREAKER_METADATA, LOG_CONTEXT } from './resilience.constants';
import * as messages from './resilience.messages';
import { registryFor } from './registry-holder';

/* eslint-disable @typescript-eslint/no-explicit-any -- decorated methods take and return anything */

/**
 * Options of `@CircuitBreaker`.
 * @publicApi
 */
export interface CircuitBreakerOptions {
  /**
   * Serves a call the breaker rejected, that timed out or failed with an error the breaker
   * counts as a failure: the name of a method of the same class, or a function. Either is
   * called with the method's arguments and the error last, `this` bound to the instance.
   * Errors the breaker ignores (HTTP 4xx by default) are rethrown as they are.
   */
  fallback?: string | ((...argsThenError: any[]) => unknown);
  /**
   * One breaker per key (host, tenant, …) under the breaker's name, from the call's
   * arguments (`this` bound to the instance). Each uses `name`'s options and is named
   * `name#key`, which no other breaker can be named; the least recently used keys are evicted
   * beyond `maxKeysPerBreaker`. A key is a string or a number (`5` and `'5'` are one key) of
   * at most `MAX_KEY_LENGTH` (256) characters; anything else, `undefined` included, fails the
   * call with `InvalidBreakerKeyError`, and never reaches the breaker `name` itself.
   */
  key?: (...args: any[]) => BreakerKeyInput;
}

/** What `@CircuitBreaker` records on a method it wrapped. */
export interface CircuitBreakerMetadata {
  /** The breaker's name. */
  readonly name: string;
  readonly options: CircuitBreakerOptions;
  /** The class that declares the method. */
  readonly owner: string;
  readonly methodName: string;
}

type Method = (...args: unknown[]) => unknown;

const logger = new Logger(LOG_CONTEXT);
const warnedOnce = new Set<string>();

function warnOnce(id: string, message: () => string): void {
  if (warnedOnce.has(id)) return;
  warnedOnce.add(id);
  logger.warn(message());
}

/**
 * Runs a method through a circuit breaker.
 *
 * On a method (of a provider or a controller), above or below the route decorators: the
 * breaker is `name`, or `Class.method` when no name is given. Methods returning a Promise, an
 * Observable (declare the return type `Observable<T>`; it stays an Observable and its values
 * stream through) or a plain value work; a method returning a plain value returns it as a
 * Promise once decorated, so declare it `async`.
 *
 * On a controller class: every route handler gets its own breaker, `Controller.handler`, or
 * with a name all of them share that breaker. Handlers with their own `@CircuitBreaker` keep it.
 *
 * When the breaker rejects a call that no fallback serves, the error escapes the route (its
 * own or one that called the method) and `ResilienceModule` answers 503 with `Retry-After`; a
 * call that outlasts the breaker's `timeout` answers 504, and a call whose `key` function gives
 * no valid key 400 (see the module's `mapErrors`). Where no
 * `ResilienceModule` is initialised (a unit test that builds the class alone) the method runs
 * unprotected and a warning is logged once per breaker.
 *
 * @example
 * \@CircuitBreaker('payments', { fallback: 'cachedQuote' })
 * async quote(id: string): Promise<Quote> { ... }
 * cachedQuote(id: string, error: Error): Quote { ... }
 * @publicApi
 */
export function CircuitBreaker(
  name?: string,
  options: CircuitBreakerOptions = {},
): ClassDecorator & MethodDecorator {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor === undefined) {
      protectRoutes(target as abstract new (...args: any[]) => unknown, name, options);
      return;
    }
    const method = key as string | symbol;
    wrapMethod(target, method, descriptor, name ?? `${ownerName(target)}.${String(method)}`, options);
  };
}

/** The metadata of a method wrapped by `@CircuitBreaker`, if it is one. */
export function getCircuitBreakerMetadata(method: unknown): CircuitBreakerMetadata | undefined {
  return typeof method === 'function' ? Reflect.getMetadata(CIRCUIT_BREAKER_METADATA, method) : undefined;
}

/**
 * The fallback of a decorated method as a function.
 * @throws {InvalidBreakerOptionsError} when `fallback` names no method of `instance`.
 */
export function resolveFallback(
  instance: object,
  { name, options, owner }: CircuitBreakerMetadata,
): (...argsThenError: any[]) => unknown {
  const { fallback } = options;
  if (typeof fallback === 'function') return fallback;
  const found: unknown = (instance as Record<string, unknown>)[fallback as string];
  if (typeof found !== 'function') {
    throw new InvalidBreakerOptionsError(name, 'fallback', fallback, messages.FALLBACK_EXPECTED(owner));
  }
  return found as (...argsThenError: any[]) => unknown;
}

/** Wraps every route handler of a controller (inherited ones included) that has no breaker of its own. */
function protectRoutes(
  controller: abstract new (...args: any[]) => unknown,
  name: string | undefined,
  options: CircuitBreakerOptions,
): void {
  const prototype = controller.prototype as Record<string, unknown>;
  for (const key of new MetadataScanner().getAllMethodNames(prototype)) {
    const handler = prototype[key] as Method;
    if (!Reflect.hasMetadata(PATH_METADATA, handler) || getCircuitBreakerMetadata(handler)) continue;
    // An own property, so an inherited handler is wrapped for this controller only.
    const descriptor: PropertyDescriptor = { value: handler, writable: true, configurable: true };
    wrapMethod(prototype, key, descriptor, name ?? `${controller.name}.${key}`, options);
    Object.defineProperty(prototype, key, descriptor);
  }
}

/**
 * Replaces `descriptor.value` with a wrapper that runs it through the breaker. The wrapper is
 * a `function` (so `this` stays the instance), keeps the original's name and carries all of
 * its metadata: route decorators placed above this one then still see their route.
 */
function wrapMethod(
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor,
  name: string,
  options: CircuitBreakerOptions,
): void {
  const original = descriptor.value as Method;
  const metadata: CircuitBreakerMetadata = {
    name,
    options,
    owner: ownerName(target),
    methodName: String(key),
  };
  if (typeof original !== 'function') {
    throw new TypeError(messages.NOT_A_METHOD(metadata.owner, metadata.methodName));
  }
  const returnsObservable = isObservableType(Reflect.getMetadata('design:returntype', target, key));
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const registry = registryFor(this);
    if (registry === undefined) {
      warnOnce(`module:${name}`, () => messages.NO_MODULE(name));
      return original.apply(this, args);
    }
    return returnsObservable
      ? defer(() => observeThroughBreaker(...protectedCall(registry, this, original, args, metadata)))
      : callAsPromise(registry, this, original, args, metadata);
  };
  for (const metadataKey of Reflect.getMetadataKeys(original)) {
    Reflect.defineMetadata(metadataKey, Reflect.getMetadata(metadataKey, original), wrapper);
  }
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Reflect.defineMetadata(CIRCUIT_BREAKER_METADATA, metadata, wrapper);
  descriptor.value = wrapper;
}

function callAsPromise(
  registry: BreakerRegistry,
  instance: unknown,
  original: Method,
  args: unknown[],
  metadata: CircuitBreakerMetadata,
): Promise<unknown> {
  try {
    const [breaker, source, recover] = protectedCall(registry, instance, original, args, metadata);
    const invoke = () => {
      const result = source();
      if (!isObservable(result)) return result;
      const method = `${metadata.owner}.${metadata.methodName}`;
      warnOnce(`observable:${method}`, () => messages.UNDECLARED_OBSERVABLE(metadata.name, method));
      return lastValue(result);
    };
    return callThroughBreaker(breaker, invoke, recover && ((error) => settle(recover(error))));
  } catch (error) {
    // A key function that throws, or returns no valid key, fails the call the way the method itself would.
    return Promise.reject(error);
  }
}

/** The breaker, the call and the fallback (bound to the call's arguments) of one invocation. */
function protectedCall(
  registry: BreakerRegistry,
  instance: unknown,
  original: Method,
  args: unknown[],
  metadata: CircuitBreakerMetadata,
): [breaker: Breaker, source: () => any, recover: Recover | undefined] {
  const { name, options } = metadata;
  const breaker =
    options.key === undefined
      ? registry.get(name)
      : registry.get(name, toBreakerKey(name, options.key.apply(instance, args)));
  const recover: Recover | undefined =
    options.fallback === undefined
      ? undefined
      : (error) => resolveFallback(instance as object, metadata).apply(instance, [...args, error]);
  return [breaker, () => original.apply(instance, args), recover];
}

function settle(value: unknown): unknown {
  return isObservable(value) ? lastValue(value) : value;
}

function lastValue(source: Observable<unknown>): Promise<unknown> {
  return lastValueFrom(source, { defaultValue: undefined });
}

/** Whether `design:returntype` is rxjs's Observable (of any copy of rxjs). */
function isObservableType(type: unknown): boolean {
  if (typeof type !== 'function') return false;
  const prototype = (type as { prototype?: { subscribe?: unknown; pipe?: unknown } }).prototype;
  return typeof prototype?.subscribe === 'function' && typeof prototype.pipe === 'function';
}

/** The class a decorator is applied in: `target` is a prototype, or the class for static methods. */
function ownerName(target: object): string {
  return typeof target === 'function' ? target.name : target.constructor.name;
}
