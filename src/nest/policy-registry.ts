import { Inject, Injectable, Logger } from '@nestjs/common';
import { assertBreakerName } from '../core/breaker-key';
import { InvalidBreakerOptionsError } from '../core/errors';
import { Policies } from '../core/policies/policies';
import type { PolicyListener } from '../core/policies/policy-events';
import { checkPolicyOptions } from '../core/policies/policy-option-table';
import type { SharedRateLimits } from '../core/policies/shared-rate-limits';
import { BreakerRegistry } from '../core/registry';
import { BreakerStore } from '../stores/breaker-store';
import { DeadLetters } from './dead-letters/dead-letters.service';
import { methodLabel, type MethodProtection } from './method-protection';
import { LOG_CONTEXT, RESILIENCE_OPTIONS } from './resilience.constants';
import type { ResilienceModuleOptions } from './resilience-options.interface';
import * as messages from './resilience.messages';

/** Called when a call of a named policy with `deadLetter: true` finally fails. */
export type FinalFailureListener = (
  policy: string,
  args: readonly unknown[],
  error: unknown,
  attempts: number,
) => void;

/** A policy and the breaker its attempts go through. */
export interface MethodPolicies {
  readonly policies: Policies;
  readonly breaker: string | undefined;
  /** Whether its calls that finally fail are kept as dead letters (`deadLetter: true`). */
  readonly keepsDeadLetters: boolean;
}

/** Each app's policies, found from its breaker registry (decorated methods know only that). */
const byBreakers = new WeakMap<BreakerRegistry, PolicyRegistry>();

/** The policies of the app whose breaker registry is `breakers`. */
export function policyRegistryOf(breakers: BreakerRegistry): PolicyRegistry {
  const found = byBreakers.get(breakers);
  if (found === undefined) throw new Error(messages.NO_POLICY_REGISTRY);
  return found;
}

/**
 * The app's policies: the named ones of the module's `policies` (built, and checked, at
 * start-up) and one per method decorated with `@Retry`, `@Timeout`, `@Bulkhead` or
 * `@RateLimit`, named `Class.method`, shared by every instance of the class. Their state
 * (buckets, slots, budgets) lives here, one per app.
 */
@Injectable()
export class PolicyRegistry {
  private readonly named = new Map<string, MethodPolicies>();
  /** Each decorated method's, found (and checked) on its first call or at start-up. */
  private readonly byMethod = new WeakMap<MethodProtection, MethodPolicies>();
  private readonly everyPolicy: Policies[] = [];
  private readonly listeners = new Set<PolicyListener>();
  private readonly finalFailureListeners = new Set<FinalFailureListener>();
  private readonly fleetStore: boolean;
  private readonly sharedRateLimits: SharedRateLimits | undefined;
  private readonly logger = new Logger(LOG_CONTEXT);
  /** The method whose replayer each dead-letter policy registered. */
  private readonly replayedBy = new Map<string, string>();

  private deadLettersWriting = 0;

  /** @throws {InvalidBreakerOptionsError} (scope `policy`) for a bad policy option. */
  constructor(
    @Inject(RESILIENCE_OPTIONS) options: ResilienceModuleOptions,
    @Inject(BreakerRegistry) private readonly breakers: BreakerRegistry,
    @Inject(DeadLetters) private readonly deadLetters: DeadLetters,
    @Inject(BreakerStore) store: BreakerStore,
  ) {
    this.sharedRateLimits = store.rateLimits;
    this.fleetStore = store.rateLimits !== undefined;
    for (const [name, policy] of Object.entries(options.policies ?? {})) {
      this.named.set(name, this.build(name, policy));
    }
    this.onFinalFailure((...failure) => this.keepDeadLetter(...failure));
    byBreakers.set(breakers, this);
  }

  /** The named policy `name`; undefined when it is not configured. */
  get(name: string): Policies | undefined {
    return this.named.get(name)?.policies;
  }

  /** Every policy built so far: the named ones, and those of decorated methods called or checked. */
  all(): readonly Policies[] {
    return this.everyPolicy;
  }

  /** Listens to every policy's retries and refusals (metrics); returns the function that stops it. */
  on(listener: PolicyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Listens to the calls of named policies with `deadLetter: true` that finally fail (after
   * their retries, no fallback having served them); returns the function that stops it.
   */
  onFinalFailure(listener: FinalFailureListener): () => void {
    this.finalFailureListeners.add(listener);
    return () => this.finalFailureListeners.delete(listener);
  }

  /**
   * The policies and breaker of a decorated method.
   * @throws {InvalidBreakerOptionsError} for `@Resilient` naming no configured policy, a named
   * policy with a breaker on a method that also has `@CircuitBreaker`, or a bad decorator option.
   */
  policiesFor(protection: MethodProtection): MethodPolicies {
    let found = this.byMethod.get(protection);
    if (found === undefined) {
      found = this.find(protection);
      this.byMethod.set(protection, found);
    }
    return found;
  }

  /**
   * Refuses, for a policy that keeps dead letters, arguments a dead letter could not keep.
   * @returns a copy of them as they are now, the letter's should the call finally fail.
   * @throws {DeadLetterArgumentsError} naming the policy and the argument.
   */
  checkDeadLetterArguments(policy: string, args: readonly unknown[]): unknown[] {
    return this.deadLetters.checkArguments(policy, args);
  }

  /**
   * Makes `replay` how the dead letters of `policy` are run again (the one method that uses it).
   * `breaker`: the breaker its calls go through, the method's own (`@CircuitBreaker`) if it has
   * one, else the policy's: a replay it refuses is told apart from one whose call ran.
   * @throws {InvalidBreakerOptionsError} when another method registered for the policy already.
   */
  registerReplayer(
    policy: string,
    method: string,
    replay: (...args: unknown[]) => Promise<unknown>,
    breaker: string | undefined = this.named.get(policy)?.breaker,
  ): void {
    const other = this.replayedBy.get(policy);
    if (other !== undefined && other !== method) {
      throw new InvalidBreakerOptionsError(
        policy,
        'deadLetter',
        true,
        messages.DEAD_LETTER_ONE_METHOD(method, other),
        'policy',
      );
    }
    this.replayedBy.set(policy, method);
    this.deadLetters.registerReplayer(policy, replay, breaker);
  }

  /** Dead letters being written now: a shutdown waits for them before it closes the store. */
  get writing(): number {
    return this.deadLettersWriting;
  }

  /** Keeps a call that finally failed; a store that cannot keep it says so in the log, never silently. */
  private keepDeadLetter(policy: string, args: readonly unknown[], error: unknown, attempts: number): void {
    this.deadLettersWriting++;
    this.deadLetters
      .record(policy, args, error, attempts)
      .catch((problem: unknown) => {
        this.logger.error(messages.DEAD_LETTER_LOST(policy, problem));
      })
      .finally(() => this.deadLettersWriting--);
  }

  /** What `policiesFor` gives, built (or, for `@Resilient`, checked against the method's breaker) once. */
  private find(protection: MethodProtection): MethodPolicies {
    const { resilient, breaker } = protection;
    if (resilient === undefined) return this.build(methodLabel(protection), protection.policy ?? {}, breaker);
    const named = this.named.get(resilient.name);
    if (named === undefined) {
      const known = [...this.named.keys()].join(', ') || 'none';
      throw new InvalidBreakerOptionsError(
        resilient.name,
        '@Resilient',
        resilient.name,
        messages.UNKNOWN_POLICY(methodLabel(protection), known),
        'policy',
      );
    }
    if (breaker === undefined) return named;
    if (named.breaker !== undefined) {
      throw new InvalidBreakerOptionsError(
        resilient.name,
        'breaker',
        named.breaker,
        messages.TWO_BREAKERS(methodLabel(protection), breaker.name),
        'policy',
      );
    }
    // The policy was built without this method's breaker: its timeout is held above that breaker's here.
    checkPolicyOptions(resilient.name, named.policies.options, {
      breakerTimeout: this.breakerTimeout(
        breaker.name,
        breaker.options.key !== undefined || breaker.byClass === true,
      ),
      fleetStore: this.fleetStore,
    });
    return { ...named, breaker: breaker.name };
  }

  /**
   * A named policy (its breaker in its options), or a decorated method's (`breaker` from
   * `@CircuitBreaker`).
   */
  private build(name: string, options: unknown, breaker?: MethodProtection['breaker']): MethodPolicies {
    // Checked before any option is read (`p: null`) and before the breaker is looked up, so a
    // bad `breaker` is reported as the policy's (a decorator's, where its breaker is made).
    checkPolicyOptions(name, options, { fleetStore: this.fleetStore });
    if (breaker === undefined && options.breaker !== undefined) this.checkBreakerName(name, options.breaker);
    const breakerName = breaker?.name ?? options.breaker;
    const keepsDeadLetters = options.deadLetter === true;
    const policies = new Policies(
      name,
      options,
      {
        onEvent: (event) => {
          for (const listener of this.listeners) listener(event);
        },
        onFinalFailure: keepsDeadLetters
          ? (args, error, attempts) => {
              for (const listener of this.finalFailureListeners) listener(name, args, error, attempts);
            }
          : undefined,
        sharedRateLimits: this.sharedRateLimits,
      },
      {
        breakerTimeout:
          breakerName === undefined
            ? undefined
            : this.breakerTimeout(
                breakerName,
                breaker !== undefined && (breaker.options.key !== undefined || breaker.byClass === true),
              ),
        fleetStore: this.fleetStore,
      },
    );
    this.everyPolicy.push(policies);
    return { policies, breaker: breakerName, keepsDeadLetters };
  }

  /** @throws {InvalidBreakerOptionsError} naming the policy and its `breaker` option. */
  private checkBreakerName(policy: string, breaker: string): void {
    try {
      assertBreakerName(breaker);
    } catch (error) {
      const { expected } = error as InvalidBreakerOptionsError;
      throw new InvalidBreakerOptionsError(policy, 'breaker', breaker, expected, 'policy');
    }
  }

  /**
   * The per-attempt timeout of the breaker `name`, if it has one, read without creating a breaker
   * when `unmade`: per-key breakers (of `name`), and a breaker named after the declaring class
   * (`@CircuitBreaker()` without a name), which a call on a subclass never uses.
   */
  private breakerTimeout(name: string, unmade: boolean): number | undefined {
    // optionsOf declares nothing: a class's name is no per-key name (see BreakerRegistry.declaresPerKey).
    const { timeout } = unmade ? this.breakers.optionsOf(name) : this.breakers.get(name).options;
    return timeout === false ? undefined : timeout;
  }
}
