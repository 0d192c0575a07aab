import { AsyncLocalStorage } from 'node:async_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  MemoryDeadLetters,
  type DeadLetter,
  type DeadLetterError,
  type DeadLetterStore,
} from '../../core/dead-letter-store';
import { KEY_SEPARATOR } from '../../core/breaker-key';
import { isResilienceError } from '../../core/errors';
import { isRejection } from '../../core/policies/policy-errors';
import { BreakerStore } from '../../stores/breaker-store';
import { reasonOf } from '../../stores/store-messages';
import {
  DEAD_LETTER_MAX_ARGS_BYTES,
  DEAD_LETTER_MAX_DEPTH,
  DEAD_LETTER_MAX_MESSAGE_LENGTH,
  DeadLetterArgumentsError,
  DeadLetterNotFoundError,
  DeadLetterNotKeptError,
  DeadLetterTooLargeError,
  NoReplayerError,
  ReplayedNotRemovedError,
  ReplayInProgressError,
} from './dead-letter-errors';
import * as messages from './dead-letters.messages';
import { jsonArgumentsCheck } from './json-arguments';

/** Runs a dead letter's call again through its policy, with the arguments it was made with. @publicApi */
export type Replayer = (...args: unknown[]) => unknown;

/**
 * How a replay ended; a failed one leaves the letter in place. `ranBefore`: the call succeeded in
 * an earlier replay whose letter the store could not remove then; this one only removed it.
 * `notRun`: the call did not run at all, refused by the policy's own protection (its breaker
 * OPEN, FORCED_OPEN or HALF_OPEN with no free trial, its rate limit, bulkhead or load shedding):
 * the letter is kept as it was, and `retryAfterMs` says when a replay may be let through. A
 * rejection raised inside the call (a breaker of another dependency the method called) is a
 * failed replay: the call ran.
 * @publicApi
 */
export type ReplayOutcome =
  | { readonly ok: true; readonly letter: DeadLetter; readonly ranBefore?: true }
  | {
      readonly ok: false;
      readonly letter: DeadLetter;
      readonly error: DeadLetterError;
      readonly notRun?: undefined;
    }
  | {
      readonly ok: false;
      readonly letter: DeadLetter;
      readonly error: DeadLetterError;
      readonly notRun: true;
      /** How long until the policy may let the call through (the refusal's `retryAfterMs`). */
      readonly retryAfterMs: number;
    };

/**
 * The dead letters of the app's named policies: calls that finally failed, kept with their
 * arguments (as JSON) in the module's store (memory: the newest 1,000; sqlite and redis: the
 * newest 10,000, surviving restarts; redis shares them with the fleet), to be looked at and
 * replayed through the same policy.
 * @publicApi
 */
@Injectable()
export class DeadLetters {
  private readonly store: DeadLetterStore;
  private readonly replayers = new Map<string, { replayer: Replayer; breaker: string | undefined }>();
  private readonly replaying = new Set<string>();
  /**
   * Letters whose replay succeeded but which the store could not remove, with the claim the
   * replay keeps on them: their call is never run again here, and asking again removes them.
   */
  private readonly replayedNotRemoved = new Map<string, Replayed>();
  /** The letter being replayed in this async context: its failure is that letter's, not a new one. */
  private readonly replay$ = new AsyncLocalStorage<ReplayContext>();
  private readonly logger = new Logger('DeadLetters');
  /** Policies the store was said to drop letters of: said once each, not once per letter. */
  private readonly droppedFrom = new Set<string>();

  constructor(@Inject(BreakerStore) breakerStore: BreakerStore) {
    this.store = breakerStore.deadLetters ?? new MemoryDeadLetters();
    this.store.onDrop?.((policy, capacity) => {
      if (this.droppedFrom.has(policy)) return;
      this.droppedFrom.add(policy);
      this.logger.warn(messages.OLDEST_DROPPED(policy, capacity));
    });
  }

  /**
   * Refuses arguments a dead letter could not keep as they are: call it when a policy's
   * method first runs, so a bad signature fails at once rather than on the first failure.
   * @returns a copy of them as they are now: what to keep should the call fail (the method may
   * change its own arguments meanwhile). Arguments no letter can keep although their values are
   * JSON's (nested more than {@link DEAD_LETTER_MAX_DEPTH} levels deep) are not refused: the call
   * runs as without dead letters, and should it fail, `record` says why it keeps nothing.
   * @throws {DeadLetterArgumentsError} naming the policy and what is wrong.
   */
  checkArguments(policy: string, args: readonly unknown[]): unknown[] {
    try {
      return JSON.parse(this.asJson(policy, args)) as unknown[];
    } catch (error) {
      if (error instanceof DeadLetterNotKeptError) return [...args];
      throw error;
    }
  }

  /**
   * Keeps a call that finally failed. Called from within the replay of a letter of the same
   * policy, it keeps nothing new: the replayed letter stays, and is what it resolves with.
   * The error's message is kept up to {@link DEAD_LETTER_MAX_MESSAGE_LENGTH} characters.
   * @throws {DeadLetterArgumentsError} (as a rejected promise) when its arguments cannot be kept,
   * {@link DeadLetterTooLargeError} when they are more than {@link DEAD_LETTER_MAX_ARGS_BYTES} as JSON,
   * {@link DeadLetterNotKeptError} when they are nested too deep to keep.
   */
  async record(policy: string, args: readonly unknown[], error: unknown, attempts = 1): Promise<DeadLetter> {
    const replayed = this.replay$.getStore();
    if (replayed?.letter.policy === policy) {
      // The replay's own call (the outermost ends last): how many attempts it made tells whether it ran.
      replayed.attempts = attempts;
      return replayed.letter;
    }
    const json = this.asJson(policy, args);
    const bytes = Buffer.byteLength(json);
    if (bytes > DEAD_LETTER_MAX_ARGS_BYTES) throw new DeadLetterTooLargeError(policy, bytes);
    const kept = JSON.parse(json) as unknown[];
    return this.store.add({ policy, args: kept, error: describeError(error), attempts, at: Date.now() });
  }

  /**
   * The arguments as a letter keeps them (JSON).
   * @throws {DeadLetterArgumentsError} when a value would not come back the same,
   * {@link DeadLetterNotKeptError} when they are nested too deep, or too large, to write out.
   */
  private asJson(policy: string, args: readonly unknown[]): string {
    const { problem, tooDeep } = jsonArgumentsCheck(args, DEAD_LETTER_MAX_DEPTH);
    if (problem !== undefined) throw new DeadLetterArgumentsError(policy, problem);
    if (tooDeep) throw new DeadLetterNotKeptError(policy, messages.TOO_DEEP(DEAD_LETTER_MAX_DEPTH));
    try {
      return JSON.stringify([...args]);
    } catch (error) {
      // A string longer than V8's longest (hundreds of MB): no letter could hold it anyway.
      if (error instanceof RangeError) throw new DeadLetterNotKeptError(policy, messages.NOT_WRITABLE(error));
      throw error;
    }
  }

  /**
   * How `replay()` runs the letters of `policy`; the policy registers it, replacing any earlier one.
   * `breaker`: the name of the breaker the policy's calls go through, if any: a replay that breaker
   * refuses (before the call ran) is not run, where a rejection by any other breaker is a failure.
   */
  registerReplayer(policy: string, replayer: Replayer, breaker?: string): void {
    this.replayers.set(policy, { replayer, breaker });
  }

  /** Newest first: up to `limit` [100], of one policy or of all. */
  list(options?: { policy?: string; limit?: number }): Promise<DeadLetter[]> {
    return this.store.list(options);
  }

  /** @throws {DeadLetterNotFoundError} (as a rejected promise) for an unknown id. */
  async get(id: string): Promise<DeadLetter> {
    const letter = await this.store.get(id);
    if (letter === undefined) throw new DeadLetterNotFoundError(id);
    return letter;
  }

  /** Removes every letter (of one policy, or of all); resolves with how many. */
  async purge(policy?: string): Promise<number> {
    const purged = await this.store.purge(policy);
    for (const [id, { letter, release }] of this.replayedNotRemoved) {
      if (policy !== undefined && letter.policy !== policy) continue;
      this.replayedNotRemoved.delete(id);
      await this.free(id, release);
    }
    return purged;
  }

  /**
   * Runs the letter's call again through its policy. Success removes the letter; failure
   * leaves it in place and says why; a call the policy's own protection refused before it ran
   * (`notRun`) leaves it as it was, its attempts unchanged. A call that succeeded is never run again for its letter: if
   * the store cannot remove the letter, the replay's claim is kept and asking again only removes it.
   * @throws {DeadLetterNotFoundError} for an unknown id, {@link NoReplayerError} when its
   * policy has no replayer, {@link ReplayInProgressError} while it is being replayed already,
   * {@link ReplayedNotRemovedError} when its call succeeded but the store could not remove it.
   */
  async replay(id: string): Promise<ReplayOutcome> {
    if (this.replaying.has(id)) throw new ReplayInProgressError(id);
    this.replaying.add(id);
    let release: (() => Promise<void>) | undefined;
    try {
      const replayed = this.replayedNotRemoved.get(id);
      if (replayed !== undefined) {
        await this.remove(replayed);
        this.replayedNotRemoved.delete(id);
        release = replayed.release;
        return { ok: true, letter: replayed.letter, ranBefore: true };
      }
      // Claimed before it is read, freed after it is removed: another instance then finds nothing.
      release = this.store.claim === undefined ? undefined : await this.store.claim(id);
      if (this.store.claim !== undefined && release === undefined) throw new ReplayInProgressError(id);
      const letter = await this.get(id);
      const registered = this.replayers.get(letter.policy);
      if (registered === undefined) throw new NoReplayerError(id, letter.policy);
      const context: ReplayContext = { letter, attempts: undefined };
      try {
        await this.replay$.run(context, () => registered.replayer(...letter.args));
      } catch (error) {
        const retryAfterMs = refusedBeforeRunning(error, letter.policy, registered.breaker, context.attempts);
        if (retryAfterMs !== undefined) {
          return { ok: false, letter, error: describeError(error), notRun: true, retryAfterMs };
        }
        return { ok: false, letter, error: describeError(error) };
      }
      // From here the call has run: should the store fail, the claim stays with the letter.
      const done = { letter, release };
      release = undefined;
      this.replayedNotRemoved.set(id, done);
      await this.remove(done);
      this.replayedNotRemoved.delete(id);
      release = done.release;
      return { ok: true, letter };
    } finally {
      await this.free(id, release);
      this.replaying.delete(id);
    }
  }

  /** @throws {ReplayedNotRemovedError} when the store fails to remove a letter whose call succeeded. */
  private async remove({ letter }: Replayed): Promise<void> {
    try {
      await this.store.remove(letter.id);
    } catch (error) {
      const problem = new ReplayedNotRemovedError(letter.id, letter.policy, reasonOf(error));
      this.logger.error(problem.message);
      throw problem;
    }
  }

  private async free(id: string, release: (() => Promise<void>) | undefined): Promise<void> {
    await release?.().catch((error: unknown) => this.logger.warn(messages.CLAIM_NOT_FREED(id, error)));
  }
}

/** A replay under way: its letter, and the attempts its call made once it finally failed (from `record`). */
interface ReplayContext {
  readonly letter: DeadLetter;
  attempts: number | undefined;
}

/**
 * When the replay's `error` is a refusal by the policy's own protection before the call ran,
 * the refusal's `retryAfterMs`; else undefined (the call ran, or the refusal came from inside it).
 * Its rate limit and bulkhead refuse before any attempt; its breaker (or that breaker's load
 * shedding, or a per-key breaker of it) refuses an attempt: the first one, or the call ran.
 */
function refusedBeforeRunning(
  error: unknown,
  policy: string,
  breaker: string | undefined,
  attempts: number | undefined,
): number | undefined {
  if (!isRejection(error)) return undefined;
  const refusal = error as { policy?: unknown; breaker?: unknown; retryAfterMs?: unknown };
  const { retryAfterMs } = refusal;
  if (typeof retryAfterMs !== 'number' || !Number.isFinite(retryAfterMs) || retryAfterMs < 0)
    return undefined;
  if (isResilienceError(error, 'RATE_LIMITED') || isResilienceError(error, 'BULKHEAD_FULL')) {
    return refusal.policy === policy && (attempts ?? 0) === 0 ? retryAfterMs : undefined;
  }
  const by = refusal.breaker;
  const own =
    breaker !== undefined &&
    typeof by === 'string' &&
    (by === breaker || by.startsWith(breaker + KEY_SEPARATOR));
  return own && (attempts ?? 1) <= 1 ? retryAfterMs : undefined;
}

/** A letter whose call succeeded on replay, and the claim that replay holds on it (if the store claims). */
interface Replayed {
  letter: DeadLetter;
  release: (() => Promise<void>) | undefined;
}

/**
 * An error as a dead letter keeps it: its name, message and string `code`, whatever was thrown,
 * each cut to a bounded length (an HTTP client's message may carry a whole response body).
 */
function describeError(error: unknown): DeadLetterError {
  if (!(error instanceof Error)) return { name: 'Error', message: cut(String(error)) };
  const { code } = error as { code?: unknown };
  return {
    name: cut(String(error.name), 200),
    message: cut(String(error.message)),
    ...(typeof code === 'string' && { code: cut(code, 200) }),
  };
}

function cut(text: string, max = DEAD_LETTER_MAX_MESSAGE_LENGTH): string {
  return text.length <= max ? text : text.slice(0, max) + messages.MESSAGE_CUT(text.length - max);
}
