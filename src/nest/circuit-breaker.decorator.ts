import { PATH_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner } from '@nestjs/core';
import type { BreakerKeyInput } from '../core/breaker-key';
import {
  methodLabel,
  protectHandler,
  protectMethod,
  type CircuitBreakerMetadata,
  type MethodProtection,
} from './method-protection';
import { CIRCUIT_BREAKER_METADATA } from './resilience.constants';
import * as messages from './resilience.messages';

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

/**
 * Runs a method through a circuit breaker.
 *
 * On a method (of a provider or a controller), above or below the route decorators: the
 * breaker is `name`, or `Class.method` when no name is given, `Class` being the class of the
 * instance: a subclass that inherits the method has a breaker of its own, `Subclass.method`,
 * with the options configured for it, else those configured for the declaring class's
 * `Class.method`. Methods returning a Promise, an Observable (declare the return type
 * `Observable<T>`; it stays an Observable and its values stream through) or a plain value
 * work; a method returning a plain value returns it as a Promise once decorated, so declare
 * it `async`.
 *
 * On a controller class: every route handler gets its own breaker, `Controller.handler` (a
 * controller extending it has its own, as above), or with a name all of them share that
 * breaker. Handlers with their own `@CircuitBreaker` keep it.
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
    protectMethod(target, key as string | symbol, descriptor, '@CircuitBreaker', withBreaker(name, options));
  };
}

/** The metadata of a method wrapped by `@CircuitBreaker`, if it is one. */
export function getCircuitBreakerMetadata(method: unknown): CircuitBreakerMetadata | undefined {
  return typeof method === 'function' ? Reflect.getMetadata(CIRCUIT_BREAKER_METADATA, method) : undefined;
}

/**
 * Records the breaker on a method's protection; by default it is named `Class.method`, after
 * the class of the instance called (see `classBreakerOf`).
 */
function withBreaker(name: string | undefined, options: CircuitBreakerOptions) {
  return (protection: MethodProtection): void => {
    const method = methodLabel(protection);
    if (protection.breaker !== undefined)
      throw new TypeError(messages.DECORATOR_TWICE('@CircuitBreaker', method));
    protection.breaker = { name: name ?? method, options, byClass: name === undefined };
  };
}

/** Protects every route handler of a controller (inherited ones included) that has no breaker of its own. */
function protectRoutes(
  controller: abstract new (...args: any[]) => unknown,
  name: string | undefined,
  options: CircuitBreakerOptions,
): void {
  const prototype = controller.prototype as Record<string, unknown>;
  for (const key of new MetadataScanner().getAllMethodNames(prototype)) {
    const handler = prototype[key];
    if (!Reflect.hasMetadata(PATH_METADATA, handler as object) || getCircuitBreakerMetadata(handler))
      continue;
    // Unnamed, each handler's breaker is `Controller.handler` of the controller called, a subclass's its own.
    protectHandler(prototype, key, withBreaker(name, options));
  }
}
