import { Logger } from '@nestjs/common';
import { catchError, defer, isObservable, type Observable, tap, throwError } from 'rxjs';
import type { Breaker } from '../core/breaker';
import { InvalidBreakerOptionsError } from '../core/errors';
import type { Policies } from '../core/policies/policies';
import type { PolicyOptions } from '../core/policies/policy-options';
import type { BreakerRegistry } from '../core/registry';
import { callThroughBreaker, observeThroughBreaker, settle, type Recover } from './breaker-call';
import type { CircuitBreakerOptions } from './circuit-breaker.decorator';
import { fieldResolverError, isFieldResolver } from './error-mapping/field-resolver-errors';
import { rmqMessageSettler } from './error-mapping/rmq-rejected-messages';
import { callThroughPolicies, observeThroughPolicies, type PolicyBreaker } from './policy-call';
import { policyRegistryOf } from './policy-registry';
import { registryFor } from './registry-holder';
import { CIRCUIT_BREAKER_METADATA, LOG_CONTEXT, PROTECTION_METADATA } from './resilience.constants';
import * as messages from './resilience.messages';

/* eslint-disable @typescript-eslint/no-explicit-any -- decorated methods take and return anything */

/**
 * Options of `@Resilient`.
 * @publicApi
 */
export interface ResilientOptions {
  /**
   * Serves a call that finally failed or was refused (after its retries): the name of a method
   * of the same class, or a function, called with the method's arguments and the error last.
   */
  fallback?: string | ((...argsThenError: any[]) => unknown);
}

/** The options of `@Retry`, `@Timeout`, `@Bulkhead` and `@RateLimit` on one method. */
export type MethodPolicyOptions = Pick<PolicyOptions, 'retry' | 'timeout' | 'bulkhead' | 'rateLimit'>;

/**
 * Everything that protects one decorated method, whatever the order of its decorators: the
 * first decorator applied wraps the method, the others add to this record, and the wrapper
 * applies it in the one order (fallback → rate limit → bulkhead → timeout → retry → breaker).
 */
export interface MethodProtection {
  /** The class that declares the method. */
  readonly owner: string;
  /** That class itself (its name may change later: Nest's `mixin()` renames it at random). */
  readonly ownerClass: object;
  readonly methodName: string;
  /** The method as written. */
  readonly original: Method;
  /** Whether the method is declared to return an Observable. */
  readonly returnsObservable: boolean;
  /**
   * `@CircuitBreaker`'s breaker. `byClass`: no name was given, so `name` is the declaring
   * class's `Class.method`, and a call on an instance of a subclass goes through that
   * subclass's (see {@link classBreakerOf}).
   */
  breaker?: { readonly name: string; readonly options: CircuitBreakerOptions; readonly byClass?: boolean };
  /** The breaker of calls on instances of each class met so far (see {@link classBreakerOf}). */
  readonly classBreakers: WeakMap<object, ClassBreaker>;
  /** `@Retry`, `@Timeout`, `@Bulkhead`, `@RateLimit`: an anonymous policy, `Class.method`. */
  policy?: MethodPolicyOptions;
  /** `@Resilient`'s named policy. */
  resilient?: { readonly name: string; readonly options: ResilientOptions };
}

/**
 * The breaker that calls of a method with `@CircuitBreaker` on instances of one class go
 * through: `name`, and the name whose configured options it takes when `name` has none.
 */
export interface ClassBreaker {
  readonly name: string;
  /** For a subclass's own breaker (`Subclass.method`): the declaring class's `Class.method`. */
  readonly optionsFrom: string | undefined;
}

/** What `@CircuitBreaker` records on a method it wrapped. */
export interface CircuitBreakerMetadata {
  /**
   * The name given to `@CircuitBreaker`, or without one the declaring class's `Class.method`,
   * the breaker of calls on instances of that class: a subclass inheriting the method has its
   * own, `Subclass.method` (see {@link classBreakerOf}).
   */
  readonly name: string;
  readonly options: CircuitBreakerOptions;
  /** The class that declares the method. */
  readonly owner: string;
  readonly methodName: string;
}

export type Method = (...args: unknown[]) => unknown;

const logger = new Logger(LOG_CONTEXT);
const warnedOnce = new Set<string>();

export function warnOnce(id: string, message: () => string): void {
  if (warnedOnce.has(id)) return;
  warnedOnce.add(id);
  logger.warn(message());
}

/** The protection of a decorated method, if it is one. */
export function getProtection(method: unknown): MethodProtection | undefined {
  return typeof method === 'function' ? Reflect.getMetadata(PROTECTION_METADATA, method) : undefined;
}

/** `Class.method`: an anonymous policy's name and label. */
export function methodLabel(protection: MethodProtection): string {
  return `${protection.owner}.${protection.methodName}`;
}

/**
 * The breaker a call of a method with `@CircuitBreaker` on `instance` goes through: the name
 * given, or else `Class.method` after the class of `instance`, so that subclasses sharing a
 * decorated method of a base class (generic clients, base controllers) never share a breaker,
 * as with `@CircuitBreaker()` on a controller class. A subclass's breaker takes the options
 * configured for the declaring class's `Class.method` unless it has its own. Worked out once
 * per class: a call builds no name.
 */
export function classBreakerOf(protection: MethodProtection, instance: unknown): ClassBreaker {
  const type = (protection.breaker?.byClass === true && classOf(instance)) || protection.ownerClass;
  return protection.classBreakers.get(type) ?? classBreaker(protection, type);
}

/** Works out and keeps {@link classBreakerOf}'s answer for instances of `type`. */
function classBreaker(protection: MethodProtection, type: { name?: unknown }): ClassBreaker {
  const { name } = protection.breaker as NonNullable<MethodProtection['breaker']>;
  // A class renamed after it was decorated (Nest's mixin()) keeps the name written: compared by identity.
  const own = type === protection.ownerClass || typeof type.name !== 'string' || type.name === '';
  const found: ClassBreaker = own
    ? { name, optionsFrom: undefined }
    : { name: `${type.name as string}.${protection.methodName}`, optionsFrom: name };
  protection.classBreakers.set(type, found);
  return found;
}

/** The class of `instance` (the class itself for a static method), if it has one. */
function classOf(instance: unknown): { name?: unknown } | undefined {
  if (typeof instance === 'function') return instance;
  if (typeof instance !== 'object' || instance === null) return undefined;
  const type: unknown = (Object.getPrototypeOf(instance) as { constructor?: unknown } | null)?.constructor;
  return typeof type === 'function' ? type : undefined;
}

/**
 * Adds what one decorator brings (`add`) to the protection of the method at `descriptor`,
 * wrapping the method first when no decorator of this library did yet.
 */
export function protectMethod(
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor,
  decorator: string,
  add: (protection: MethodProtection) => void,
): void {
  const existing = getProtection(descriptor.value);
  if (existing !== undefined) {
    add(existing);
    recordBreaker(descriptor.value as Method, existing);
    return;
  }
  const original = descriptor.value as Method;
  const owner = ownerName(target);
  if (typeof original !== 'function')
    throw new TypeError(messages.NOT_A_METHOD(decorator, owner, String(key)));
  const protection: MethodProtection = {
    owner,
    ownerClass: ownerClassOf(target),
    methodName: String(key),
    original,
    returnsObservable: isObservableType(Reflect.getMetadata('design:returntype', target, key)),
    classBreakers: new WeakMap(),
  };
  add(protection);
  descriptor.value = wrap(protection);
}

/**
 * Protects an inherited or already decorated route handler for one controller (a class-level
 * decorator): the wrapper is an own property of `prototype`, around the method as written,
 * with a copy of any protection the handler had.
 */
export function protectHandler(
  prototype: Record<string, unknown>,
  key: string,
  add: (protection: MethodProtection) => void,
): void {
  const handler = prototype[key] as Method;
  const existing = getProtection(handler);
  const protection: MethodProtection =
    existing === undefined
      ? {
          owner: ownerName(prototype),
          ownerClass: ownerClassOf(prototype),
          methodName: key,
          original: handler,
          returnsObservable: isObservableType(Reflect.getMetadata('design:returntype', prototype, key)),
          classBreakers: new WeakMap(),
        }
      : {
          ...existing,
          owner: ownerName(prototype),
          ownerClass: ownerClassOf(prototype),
          classBreakers: new WeakMap(),
        };
  add(protection);
  const wrapper = wrap(protection);
  for (const metadataKey of Reflect.getMetadataKeys(handler)) {
    if (metadataKey === PROTECTION_METADATA || metadataKey === CIRCUIT_BREAKER_METADATA) continue;
    Reflect.defineMetadata(metadataKey, Reflect.getMetadata(metadataKey, handler), wrapper);
  }
  Object.defineProperty(prototype, key, { value: wrapper, writable: true, configurable: true });
}

/**
 * A wrapper that runs the method through its protection. It is a `function` (so `this` stays
 * the instance), keeps the original's name and carries all of its metadata: route decorators
 * placed above then still see their route.
 */
function wrap(protection: MethodProtection): Method {
  const { original } = protection;
  /** Whether the method is a `@ResolveField` (read at its first call, once every decorator ran). */
  let fieldResolver: boolean | undefined;
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const registry = registryFor(this);
    if (registry === undefined) {
      const breaker = protection.breaker && classBreakerOf(protection, this).name;
      if (breaker !== undefined) warnOnce(`module:${breaker}`, () => messages.NO_MODULE(breaker));
      else
        warnOnce(`module:${methodLabel(protection)}`, () =>
          messages.NO_MODULE_FOR_POLICY(methodLabel(protection)),
        );
      return original.apply(this, args);
    }
    const settle = rmqMessageSettler(registry, wrapper, args);
    const result =
      settle === undefined
        ? callProtected(registry, protection, this, args)
        : settledWhenRefused(registry, protection, this, args, settle);
    fieldResolver ??= isFieldResolver(wrapper);
    return fieldResolver ? answeredAsField(registry, wrapper, this, result) : result;
  };
  for (const metadataKey of Reflect.getMetadataKeys(original)) {
    Reflect.defineMetadata(metadataKey, Reflect.getMetadata(metadataKey, original), wrapper);
  }
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Reflect.defineMetadata(PROTECTION_METADATA, protection, wrapper);
  recordBreaker(wrapper, protection);
  return wrapper;
}

/** Records `@CircuitBreaker`'s metadata (read by the interceptor and the explorer) once the method has a breaker. */
function recordBreaker(wrapper: Method, protection: MethodProtection): void {
  const { breaker, owner, methodName } = protection;
  if (breaker === undefined) return;
  const metadata: CircuitBreakerMetadata = {
    name: breaker.name,
    options: breaker.options,
    owner,
    methodName,
  };
  Reflect.defineMetadata(CIRCUIT_BREAKER_METADATA, metadata, wrapper);
}

/** The method as one call runs it, and its fallback bound to the call's arguments. */
interface CallCode {
  run(): any;
  recover: Recover | undefined;
}

function callProtected(
  registry: BreakerRegistry,
  protection: MethodProtection,
  instance: unknown,
  args: unknown[],
  code?: CallCode,
): unknown {
  const run = code?.run ?? (() => original(protection, instance, args));
  const recover = code === undefined ? recoverFor(protection, instance, args) : code.recover;
  if (protection.policy === undefined && protection.resilient === undefined) {
    return protection.returnsObservable
      ? defer(() => observeThroughBreaker(breakerFor(registry, protection, instance, args), run, recover))
      : callAsPromise(registry, protection, instance, args, run, recover);
  }
  if (protection.returnsObservable) {
    return defer(() => {
      const { policies, breaker, seen } = policiesCall(registry, protection, instance, args);
      return observeThroughPolicies(policies, breaker, run, recover, seen, instance);
    });
  }
  return asPromiseThroughPolicies(
    registry,
    protection,
    instance,
    args,
    () => invokeOnce(protection, instance, run),
    recover,
  );
}

/** The result of a call of a `@ResolveField` method, failing with its error as the field's answer. */
function answeredAsField(
  registry: BreakerRegistry,
  handler: Method,
  instance: unknown,
  result: unknown,
): unknown {
  const mapped = (error: unknown) => fieldResolverError(registry, handler, instance, error);
  if (isObservable(result))
    return (result as Observable<unknown>).pipe(
      catchError((error: unknown) => throwError(() => mapped(error))),
    );
  return (result as Promise<unknown>).catch((error: unknown) => {
    throw mapped(error);
  });
}

/**
 * A call of a RabbitMQ handler with `rmqRejected`: when it fails without the method or its
 * fallback having run (a breaker or a policy refused it, a bad key), `settle` nacks its message,
 * which the handler would have acked. Once either ran, the message is the app's.
 */
function settledWhenRefused(
  registry: BreakerRegistry,
  protection: MethodProtection,
  instance: unknown,
  args: unknown[],
  settle: () => void,
): unknown {
  let ran = false;
  const recover = recoverFor(protection, instance, args);
  const result = callProtected(registry, protection, instance, args, {
    run: () => {
      ran = true;
      return original(protection, instance, args);
    },
    recover:
      recover &&
      ((error) => {
        ran = true;
        return recover(error);
      }),
  });
  const refused = () => {
    if (!ran) settle();
  };
  if (isObservable(result)) return (result as Observable<unknown>).pipe(tap({ error: refused }));
  return (result as Promise<unknown>).catch((error: unknown) => {
    refused();
    throw error;
  });
}

/**
 * The policies and breaker of one call of a method with policies, and its arguments as the
 * policies see them. A policy that keeps dead letters refuses arguments it could not keep
 * before the call runs, not when it fails, and sees a copy made then: what a dead letter keeps.
 */
function policiesCall(
  registry: BreakerRegistry,
  protection: MethodProtection,
  instance: unknown,
  args: unknown[],
): { policies: Policies; breaker: PolicyBreaker | undefined; seen: readonly unknown[] } {
  const policyRegistry = policyRegistryOf(registry);
  const { policies, breaker: policyBreaker, keepsDeadLetters } = policyRegistry.policiesFor(protection);
  const seen = keepsDeadLetters ? policyRegistry.checkDeadLetterArguments(policies.name, args) : args;
  // The method's own breaker is named after the class called; a named policy's is its own.
  const own = protection.breaker === undefined ? undefined : classBreakerOf(protection, instance);
  const breakerName = own?.name ?? policyBreaker;
  const breaker =
    breakerName === undefined
      ? undefined
      : admittedBreaker(registry, breakerName, own?.optionsFrom, protection, instance, args);
  return { policies, breaker, seen };
}

/**
 * The breaker of a call with policies. A per-key breaker's key is checked now (a bad one fails
 * the call before any policy, as without policies), and the breaker is created by the call's
 * first attempt: a call the rate limit or the bulkhead refuses creates none, so keys from
 * refused requests cannot fill `maxKeysPerBreaker` and evict the breakers of others.
 */
function admittedBreaker(
  registry: BreakerRegistry,
  name: string,
  optionsFrom: string | undefined,
  protection: MethodProtection,
  instance: unknown,
  args: unknown[],
): PolicyBreaker {
  const key = protection.breaker?.options.key;
  if (key === undefined) return registry.get(name, undefined, optionsFrom);
  const checked = registry.keyFor(name, key.apply(instance, args));
  return () => registry.get(name, checked, optionsFrom);
}

/**
 * Runs a method with policies again with `args`, through its policies and breaker but not its
 * fallback (a fallback's answer is no replay): how a dead letter is replayed.
 */
export function replayProtected(
  registry: BreakerRegistry,
  protection: MethodProtection,
  instance: object,
  args: unknown[],
): Promise<unknown> {
  const invoke = () => settle(original(protection, instance, args));
  return asPromiseThroughPolicies(registry, protection, instance, args, invoke, undefined);
}

/** One call through the method's policies as a Promise; a failure to set it up rejects it. */
function asPromiseThroughPolicies(
  registry: BreakerRegistry,
  protection: MethodProtection,
  instance: unknown,
  args: unknown[],
  invoke: () => unknown,
  recover: Recover | undefined,
): Promise<unknown> {
  try {
    const { policies, breaker, seen } = policiesCall(registry, protection, instance, args);
    return callThroughPolicies(policies, breaker, invoke, recover, seen, instance);
  } catch (error) {
    return Promise.reject(error);
  }
}

function callAsPromise(
  registry: BreakerRegistry,
  protection: MethodProtection,
  instance: unknown,
  args: unknown[],
  run: () => unknown,
  recover: Recover | undefined,
): Promise<unknown> {
  try {
    const breaker = breakerFor(registry, protection, instance, args);
    return callThroughBreaker(
      breaker,
      () => invokeOnce(protection, instance, run),
      recover && ((error) => settle(recover(error))),
    );
  } catch (error) {
    // A key function that throws, or returns no valid key, fails the call the way the method itself would.
    return Promise.reject(error);
  }
}

/** Calls the method; an Observable it returns undeclared becomes a Promise of its last value. */
function invokeOnce(protection: MethodProtection, instance: unknown, run: () => unknown): unknown {
  const result = run();
  if (!isObservable(result)) return result;
  const method = methodLabel(protection);
  const name =
    (protection.breaker && classBreakerOf(protection, instance).name) ?? protection.resilient?.name ?? method;
  warnOnce(`observable:${method}`, () => messages.UNDECLARED_OBSERVABLE(name, method));
  return settle(result);
}

function original(protection: MethodProtection, instance: unknown, args: unknown[]): any {
  return protection.original.apply(instance, args);
}

/** The breaker of one breaker-only invocation. */
function breakerFor(
  registry: BreakerRegistry,
  protection: MethodProtection,
  instance: unknown,
  args: unknown[],
): Breaker {
  const { name, optionsFrom } = classBreakerOf(protection, instance);
  const key = protection.breaker?.options.key;
  return key === undefined
    ? registry.get(name, undefined, optionsFrom)
    : registry.get(name, registry.keyFor(name, key.apply(instance, args)), optionsFrom);
}

function recoverFor(protection: MethodProtection, instance: unknown, args: unknown[]): Recover | undefined {
  if (fallbackOf(protection) === undefined) return undefined;
  return (error) => resolveFallback(instance as object, protection).apply(instance, [...args, error]);
}

function fallbackOf(protection: MethodProtection): CircuitBreakerOptions['fallback'] {
  return protection.breaker?.options.fallback ?? protection.resilient?.options.fallback;
}

/**
 * The fallback of a decorated method as a function.
 * @throws {InvalidBreakerOptionsError} when `fallback` names no method of `instance`.
 */
export function resolveFallback(
  instance: object,
  protection: MethodProtection,
): (...argsThenError: any[]) => unknown {
  const fallback = fallbackOf(protection);
  if (typeof fallback === 'function') return fallback;
  const found: unknown = (instance as Record<string, unknown>)[fallback as string];
  if (typeof found !== 'function') {
    const { breaker, resilient } = protection;
    const name =
      (breaker && classBreakerOf(protection, instance).name) ?? resilient?.name ?? methodLabel(protection);
    const scope = breaker === undefined ? 'policy' : 'breaker';
    throw new InvalidBreakerOptionsError(
      name,
      'fallback',
      fallback,
      messages.FALLBACK_EXPECTED(protection.owner),
      scope,
    );
  }
  return found as (...argsThenError: any[]) => unknown;
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

function ownerClassOf(target: object): object {
  return typeof target === 'function' ? target : target.constructor;
}
