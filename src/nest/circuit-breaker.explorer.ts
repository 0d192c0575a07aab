import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { STATIC_CONTEXT } from '@nestjs/core/injector/constants.js';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { BreakerRegistry } from '../core/registry';
import { InvalidBreakerOptionsError } from '../core/errors';
import { misspelledName } from '../core/misspelled-name';
import {
  classBreakerOf,
  getProtection,
  methodLabel,
  replayProtected,
  resolveFallback,
  type MethodProtection,
} from './method-protection';
import { PolicyRegistry } from './policy-registry';
import type { ResilienceModuleOptions } from './resilience-options.interface';
import { LOG_CONTEXT, RESILIENCE_OPTIONS } from './resilience.constants';
import * as messages from './resilience.messages';
import {
  activateRegistry,
  awaitBinding,
  bindInstance,
  deactivateRegistry,
  type PendingBinding,
  unbindInstance,
} from './registry-holder';

/**
 * Connects the methods `@CircuitBreaker` and the policy decorators wrapped to this app's
 * registry, and checks them at start-up: every provider and controller with a decorated
 * method is bound to the registry (see `registry-holder.ts` for the instances it cannot see),
 * each fallback named must be a method of its class, each `@Resilient` name a configured
 * policy and each decorator's options valid (else the boot fails with
 * `InvalidBreakerOptionsError`), and each breaker and policy named (per-key breakers aside) is
 * created, so health and metrics show it from the start. A breaker named by a decorator or a
 * policy that is not configured but close to one that is gets a warning: likely a typo.
 *
 * Nest initialises deeper modules first, so with `isGlobal: false` a provider's `onModuleInit`
 * may call a decorated method before this one binds; and a testing module compiled without
 * `init()` never runs it. From the moment the app's instances exist, such a call binds them
 * first (without the checks, which wait for `onModuleInit`).
 */
@Injectable()
export class CircuitBreakerExplorer implements OnModuleInit, OnApplicationShutdown, PendingBinding {
  private readonly scanner = new MetadataScanner();
  private readonly bound = new Set<object>();
  private readonly stopWaiting: () => void;
  private readonly logger = new Logger(LOG_CONTEXT);
  /** Names warned of once already. */
  private readonly misspelled = new Set<string>();
  /** The breakers of the decorated methods found at start-up, and the names they take options from. */
  private readonly methodBreakers = new Set<string>();
  private readonly optionsSources = new Set<string>();

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(BreakerRegistry) private readonly registry: BreakerRegistry,
    @Inject(PolicyRegistry) private readonly policies: PolicyRegistry,
    @Inject(RESILIENCE_OPTIONS) private readonly options: ResilienceModuleOptions,
  ) {
    this.stopWaiting = awaitBinding(this);
  }

  onModuleInit(): void {
    this.stopWaiting();
    for (const [name, policy] of Object.entries(this.options.policies ?? {}))
      if (policy.breaker !== undefined) this.checkSpelling(policy.breaker, `policy "${name}"`);
    const toBind: object[] = [];
    for (const wrapper of this.wrappers()) {
      const instances = staticInstancesOf(wrapper);
      for (const instance of instances) if (this.checkDecoratedMethods(instance, true)) toBind.push(instance);
      if (instances.length > 0) continue;
      // Scoped instances do not exist yet: an object of their class stands in for the checks.
      const standIn = classInstanceOf(wrapper);
      if (standIn !== undefined) this.checkDecoratedMethods(standIn, false);
    }
    this.removeOptionsOnlyBreakers();
    this.bind(toBind);
    activateRegistry(this.registry);
  }

  /**
   * Removes the configured breakers `Base.method` whose options only subclasses' own breakers
   * (`Subclass.method`) take: no decorated method, and no policy, calls through them.
   */
  private removeOptionsOnlyBreakers(): void {
    const policyBreakers = new Set(
      Object.values(this.options.policies ?? {}).map((policy) => policy.breaker),
    );
    for (const source of this.optionsSources) {
      if (!this.methodBreakers.has(source) && !policyBreakers.has(source)) this.registry.remove(source);
    }
  }

  /**
   * Binds the app's instances with decorated methods before `onModuleInit` has (see the class).
   * Once the app is compiled, every static instance exists: bound, they need no second look, and
   * the explorer stops waiting. A call made while Nest still builds the app (from a factory or a
   * constructor) finds some not built yet, so the next call looks again.
   */
  bindInstances(): void {
    const found: object[] = [];
    let allBuilt = true;
    for (const wrapper of this.wrappers()) {
      if (!isBuilt(wrapper)) allBuilt = false;
      for (const instance of staticInstancesOf(wrapper))
        if (this.decoratedMethods(instance).length > 0) found.push(instance);
    }
    this.bind(found);
    if (allBuilt) this.stopWaiting();
  }

  onApplicationShutdown(): void {
    this.stopWaiting();
    for (const instance of this.bound) unbindInstance(instance, this.registry);
    this.bound.clear();
    deactivateRegistry(this.registry);
  }

  private wrappers(): InstanceWrapper[] {
    const all = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    return all.filter((wrapper) => !wrapper.isAlias);
  }

  private bind(instances: object[]): void {
    for (const instance of instances) {
      bindInstance(instance, this.registry);
      this.bound.add(instance);
    }
  }

  /**
   * Checks every decorated method of `target`, and registers the replayer of each that keeps
   * dead letters (`real`: `target` is the app's instance, not a stand-in); true when it has any.
   */
  private checkDecoratedMethods(target: object, real: boolean): boolean {
    const found = this.decoratedMethods(target);
    for (const protection of found) {
      const { breaker, resilient, policy } = protection;
      if ((breaker?.options.fallback ?? resilient?.options.fallback) !== undefined) {
        resolveFallback(target, protection);
      }
      if (breaker !== undefined) {
        const { name, optionsFrom } = classBreakerOf(protection, target);
        this.methodBreakers.add(name);
        if (optionsFrom !== undefined) this.optionsSources.add(optionsFrom);
        // A subclass's breaker configured under its base class's name is no typo.
        if (optionsFrom === undefined || !Object.hasOwn(this.options.breakers ?? {}, optionsFrom))
          this.checkSpelling(name, `@CircuitBreaker on ${methodLabel(protection)}`);
        // A per-key breaker's name is checked (it fails the boot, not every call) and nothing is created for it.
        if (breaker.options.key === undefined) this.registry.get(name, undefined, optionsFrom);
        else this.registry.perKeyOptions(name, optionsFrom);
      }
      if (resilient !== undefined || policy !== undefined) {
        const { policies, keepsDeadLetters } = this.policies.policiesFor(protection);
        if (keepsDeadLetters) this.registerReplayer(policies.name, protection, target, real);
      }
    }
    return found.length > 0;
  }

  /** Warns once when `name`, used by `user`, is not configured but close to a name that is. */
  private checkSpelling(name: string, user: string): void {
    const configured = Object.keys(this.options.breakers ?? {});
    if (this.misspelled.has(name) || this.registry.groupOf(name) !== undefined) return;
    const near = misspelledName(name, configured);
    if (near === undefined) return;
    this.misspelled.add(name);
    this.logger.warn(messages.MISSPELLED_BREAKER(user, name, near));
  }

  private registerReplayer(
    policy: string,
    protection: MethodProtection,
    target: object,
    real: boolean,
  ): void {
    const method = methodLabel(protection);
    if (!real) {
      throw new InvalidBreakerOptionsError(
        policy,
        'deadLetter',
        true,
        messages.DEAD_LETTER_SCOPED(method),
        'policy',
      );
    }
    // The method's own breaker (named after the class of `target`) is the one its replays go through.
    const breaker = protection.breaker === undefined ? undefined : classBreakerOf(protection, target).name;
    this.policies.registerReplayer(
      policy,
      method,
      (...args) => replayProtected(this.registry, protection, target, args),
      breaker,
    );
  }

  private decoratedMethods(target: object): MethodProtection[] {
    const prototype: unknown = Object.getPrototypeOf(target);
    if (prototype === null || prototype === Object.prototype) return [];
    const found: MethodProtection[] = [];
    for (const name of this.scanner.getAllMethodNames(prototype as object)) {
      const protection = getProtection((target as Record<string, unknown>)[name]);
      if (protection !== undefined) found.push(protection);
    }
    return found;
  }
}

/** The instances a static provider or controller has (one per consumer for a transient one). */
function staticInstancesOf(wrapper: InstanceWrapper): object[] {
  if (!wrapper.isDependencyTreeStatic()) return [];
  const instances: unknown[] = wrapper.isTransient
    ? wrapper.getStaticTransientInstances().map((host) => host?.instance)
    : [wrapper.instance];
  return instances.filter(
    (instance): instance is object => typeof instance === 'object' && instance !== null,
  );
}

/**
 * Whether Nest has built the instance of a static provider or controller (a transient one's are
 * built with their consumers'). REQUEST-scoped ones are built per request: never waited for.
 */
function isBuilt(wrapper: InstanceWrapper): boolean {
  if (wrapper.isTransient || !wrapper.isDependencyTreeStatic()) return true;
  return wrapper.getInstanceByContextId(STATIC_CONTEXT).isResolved !== false;
}

/** An object of the class of a class provider or controller, built without its constructor. */
function classInstanceOf(wrapper: InstanceWrapper): object | undefined {
  const { metatype } = wrapper;
  const isClass = !wrapper.inject && typeof metatype === 'function' && typeof metatype.prototype === 'object';
  if (!isClass) return undefined;
  return Object.create(metatype.prototype as object) as object;
}
