import { ResilienceError } from '../../core/errors';
import * as messages from './dead-letters.messages';

/**
 * The most a dead letter keeps of a call's arguments, as JSON (UTF-8 bytes): a call with larger
 * ones is not kept (it is logged as lost), so a flood of failing calls with large payloads
 * cannot fill the process, the SQLite file or Redis.
 */
export const DEAD_LETTER_MAX_ARGS_BYTES = 64 * 1024;

/**
 * How deep the lists and objects of a dead letter's arguments may nest (the arguments list is
 * level 1): deeper ones are not kept (checking, copying and writing them recurse, and thousands
 * of levels overflow the stack), and the call runs as without dead letters.
 */
export const DEAD_LETTER_MAX_DEPTH = 1_000;

/** The most a dead letter keeps of its error's message (characters); the rest is cut, and said so. */
export const DEAD_LETTER_MAX_MESSAGE_LENGTH = 2_000;

/**
 * A call of a policy that keeps dead letters has arguments that would not come back the same
 * from JSON, so it could not be replayed as it was made.
 * @publicApi
 */
export class DeadLetterArgumentsError extends ResilienceError {
  readonly code = 'DEAD_LETTER_ARGUMENTS' as const;
  override readonly name = 'DeadLetterArgumentsError';

  constructor(
    readonly policy: string,
    /** What is wrong, e.g. `args[0].when is a Date, not a plain object`. */
    readonly problem: string,
  ) {
    super(messages.ARGUMENTS_NOT_JSON(policy, problem));
  }
}

/**
 * A call that finally failed has arguments too large to keep as a dead letter (more than
 * {@link DEAD_LETTER_MAX_ARGS_BYTES} as JSON): it is logged as lost, naming the policy and the size.
 * It never reaches a caller (whose own error is thrown), so it is a plain `Error`.
 */
export class DeadLetterTooLargeError extends Error {
  readonly code = 'DEAD_LETTER_TOO_LARGE' as const;
  override readonly name = 'DeadLetterTooLargeError';

  constructor(
    readonly policy: string,
    /** The size of its arguments as JSON, in bytes (UTF-8). */
    readonly bytes: number,
  ) {
    super(messages.ARGUMENTS_TOO_LARGE(policy, bytes, DEAD_LETTER_MAX_ARGS_BYTES));
  }
}

/**
 * A call that finally failed has arguments a dead letter cannot keep although each value is one
 * JSON keeps: nested more than {@link DEAD_LETTER_MAX_DEPTH} levels deep, or too large for
 * JSON to write out at all. The call ran as without dead letters; this is logged as lost, naming
 * the policy and why. It never reaches a caller, so it is a plain `Error`.
 */
export class DeadLetterNotKeptError extends Error {
  readonly code = 'DEAD_LETTER_NOT_KEPT' as const;
  override readonly name = 'DeadLetterNotKeptError';

  constructor(
    readonly policy: string,
    reason: string,
  ) {
    super(messages.ARGUMENTS_NOT_KEPT(policy, reason));
  }
}

/** No dead letter has this id (it was replayed, purged, pushed out, or never existed). @publicApi */
export class DeadLetterNotFoundError extends ResilienceError {
  readonly code = 'DEAD_LETTER_NOT_FOUND' as const;
  override readonly name = 'DeadLetterNotFoundError';

  constructor(readonly id: string) {
    super(messages.NOT_FOUND(id));
  }
}

/** A dead letter's policy has no replayer in this app (none of its methods has run since it started). @publicApi */
export class NoReplayerError extends ResilienceError {
  readonly code = 'NO_REPLAYER' as const;
  override readonly name = 'NoReplayerError';

  constructor(
    readonly id: string,
    readonly policy: string,
  ) {
    super(messages.NO_REPLAYER(id, policy));
  }
}

/** The dead letter is being replayed already: one replay at a time, so a call never runs twice at once. @publicApi */
export class ReplayInProgressError extends ResilienceError {
  readonly code = 'REPLAY_IN_PROGRESS' as const;
  override readonly name = 'ReplayInProgressError';

  constructor(readonly id: string) {
    super(messages.REPLAY_IN_PROGRESS(id));
  }
}

/**
 * A replay's call succeeded, but its letter could not be removed from the store (which failed):
 * the letter is still listed. The call is not run again for it: asked again, this app only removes
 * the letter, and other processes sharing the store find it claimed until the claim expires.
 * Do not treat it as a failed replay (the call ran); the admin API answers it 503.
 * @publicApi
 */
export class ReplayedNotRemovedError extends ResilienceError {
  readonly code = 'REPLAYED_NOT_REMOVED' as const;
  override readonly name = 'ReplayedNotRemovedError';

  constructor(
    readonly id: string,
    readonly policy: string,
    /** Why the store could not remove it. */
    readonly reason: string,
  ) {
    super(messages.REPLAYED_NOT_REMOVED(id, policy, reason));
  }
}
