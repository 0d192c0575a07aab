/**
 * An app that replays dead letters itself (`DeadLetters.replay()` from its own route or job)
 * tells each refusal apart through the public API, as it does a breaker's errors: every error
 * `replay()` rejects with is exported from `nest-resilience`, is a `ResilienceError` and is
 * recognised by `isResilienceError(error, code)`, which keeps working across two copies of the
 * package. Above all `REPLAYED_NOT_REMOVED`: the call ran, so it must not be run again.
 */
import { Logger } from '@nestjs/common';
import {
  DeadLetterArgumentsError,
  DeadLetterNotFoundError,
  DeadLetters,
  isResilienceError,
  MemoryDeadLetters,
  NoReplayerError,
  ReplayedNotRemovedError,
  ReplayInProgressError,
  ResilienceError,
  type BreakerStore,
  type ResilienceErrorCode,
} from 'nest-resilience';

/** Dead letters whose removal fails while `failing`, as a store's full disk would make it. */
class FailingRemoval extends MemoryDeadLetters {
  failing = true;

  override async remove(id: string): Promise<boolean> {
    if (this.failing) throw new Error('disk I/O error');
    return super.remove(id);
  }
}

describe('the errors of dead letters, in the public API', () => {
  it.each<[string, ResilienceError, ResilienceErrorCode]>([
    [
      'DeadLetterArgumentsError',
      new DeadLetterArgumentsError('emails', 'args[0] is a Date'),
      'DEAD_LETTER_ARGUMENTS',
    ],
    ['DeadLetterNotFoundError', new DeadLetterNotFoundError('42'), 'DEAD_LETTER_NOT_FOUND'],
    ['NoReplayerError', new NoReplayerError('42', 'emails'), 'NO_REPLAYER'],
    ['ReplayInProgressError', new ReplayInProgressError('42'), 'REPLAY_IN_PROGRESS'],
    [
      'ReplayedNotRemovedError',
      new ReplayedNotRemovedError('42', 'emails', 'disk I/O error'),
      'REPLAYED_NOT_REMOVED',
    ],
  ])('%s is a ResilienceError with its stable code', (name, error, code) => {
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error).toMatchObject({ name, code, isResilienceError: true });
    expect(isResilienceError(error, code)).toBe(true);
    // As another copy of the package would throw it.
    expect(isResilienceError({ ...error, message: error.message }, code)).toBe(true);
  });

  it('lets a caller of replay() tell a call that ran but whose letter stayed from one to run again', async () => {
    const store = new FailingRemoval();
    const deadLetters = new DeadLetters({ deadLetters: store } as unknown as BreakerStore);
    const sent: string[] = [];
    deadLetters.registerReplayer('emails', (to) => void sent.push(to as string));
    const letter = await deadLetters.record('emails', ['ada@example.com'], new Error('smtp down'));
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);

    const error = await deadLetters.replay(letter.id).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ReplayedNotRemovedError);
    expect(isResilienceError(error, 'REPLAYED_NOT_REMOVED')).toBe(true);
    expect(error).toMatchObject({ id: letter.id, policy: 'emails', reason: 'disk I/O error' });
    expect(logged).toHaveBeenCalledTimes(1);
    logged.mockRestore();

    store.failing = false;
    await expect(deadLetters.replay(letter.id)).resolves.toMatchObject({ ok: true, ranBefore: true });
    expect(sent).toEqual(['ada@example.com']);
  });
});
