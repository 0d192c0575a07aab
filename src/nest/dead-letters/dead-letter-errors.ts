import { ResilienceError } from '../../core/errors';
import * as messages from './dead-letters.messages';

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
