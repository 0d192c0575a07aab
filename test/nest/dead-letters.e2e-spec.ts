import { join } from 'node:path';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import {
  DeadLetterArgumentsError,
  DeadLetterNotFoundError,
  NoReplayerError,
  ReplayInProgressError,
} from '../../src/nest/dead-letters/dead-letter-errors';
import { useTempDir } from '../support/temp-dir';
import { closeAllApps, createApp } from './nest-app.fixture';

afterEach(closeAllApps);

/** An error as a downstream would throw it. */
const refused = (): Error => Object.assign(new Error('card declined'), { code: 'CARD_DECLINED' });

async function deadLettersOf(options = {}) {
  const app = await createApp({}, options);
  return { ...app, deadLetters: app.app.get(DeadLetters) };
}

/** A list of its own class: JSON gives back a plain one. */
class Tags extends Array<string> {}

describe('DeadLetters', () => {
  it('should keep a failed call with its arguments and error, newest first', async () => {
    const { deadLetters } = await deadLettersOf();

    const first = await deadLetters.record('payments', ['order-1', { amount: 5 }], refused(), 3);
    await deadLetters.record('emails', ['welcome'], 'smtp down');

    expect(first).toEqual({
      id: expect.any(String),
      policy: 'payments',
      args: ['order-1', { amount: 5 }],
      error: { name: 'Error', message: 'card declined', code: 'CARD_DECLINED' },
      attempts: 3,
      at: expect.any(Number),
    });
    expect((await deadLetters.list()).map((l) => l.policy)).toEqual(['emails', 'payments']);
    expect((await deadLetters.list({ policy: 'emails' }))[0].error).toEqual({
      name: 'Error',
      message: 'smtp down',
    });
  });

  it.each([
    [[new Date(0)], 'args[0] is a Date, not a plain object'],
    [['a', { at: new Map() }], 'args[1].at is a Map, not a plain object'],
    [[() => 1], 'args[0] is a function'],
    [[1n], 'args[0] is a bigint'],
    [[NaN], 'args[0] is NaN (JSON writes it as null)'],
    [['a', undefined], 'args[1] is undefined (JSON writes it as null in a list)'],
    // eslint-disable-next-line no-sparse-arrays -- a hole is what this case is about
    [[[, 1]], 'args[0][0] is undefined (JSON writes it as null in a list)'],
    [[-0], 'args[0] is -0 (JSON writes it as 0)'],
    [[Tags.from(['x'])], 'args[0] is a Tags, not a plain list'],
    [[Object.assign(['a'], { note: 'x' })], 'args[0] has the property note, which JSON does not write'],
    [[{ [Symbol('k')]: 1 }], 'args[0] has the property Symbol(k), which JSON does not write'],
  ])('should refuse arguments %p that JSON would not give back, naming the policy', async (args, problem) => {
    const { deadLetters } = await deadLettersOf();

    expect(() => deadLetters.checkArguments('payments', args)).toThrow(DeadLetterArgumentsError);
    expect(() => deadLetters.checkArguments('payments', args)).toThrow(
      `Policy "payments" keeps dead letters, which need arguments that come back the same from JSON ` +
        `(strings, numbers, booleans, null, arrays and plain objects): ${problem}.`,
    );
    await expect(deadLetters.record('payments', args, refused())).rejects.toBeInstanceOf(
      DeadLetterArgumentsError,
    );
    expect(await deadLetters.list()).toEqual([]);
  });

  it('should refuse arguments that contain themselves', async () => {
    const { deadLetters } = await deadLettersOf();
    const order: Record<string, unknown> = { id: 1 };
    order.self = order;

    expect(() => deadLetters.checkArguments('payments', [order])).toThrow(
      'args[0].self refers back to an object that contains it',
    );
  });

  it('should accept plain data, an absent property included', async () => {
    const { deadLetters } = await deadLettersOf();

    expect(() =>
      deadLetters.checkArguments('payments', [
        'a',
        1.5,
        true,
        null,
        [1, [2]],
        { a: { b: 'c' }, gone: undefined },
      ]),
    ).not.toThrow();
  });

  it('should replay a letter through its replayer with its arguments, and remove it on success', async () => {
    const { deadLetters } = await deadLettersOf();
    const replayer = jest.fn(async (id: unknown, body: unknown) => ({ id, body }));
    deadLetters.registerReplayer('payments', replayer);
    const letter = await deadLetters.record('payments', ['order-1', { amount: 5 }], refused());

    expect(await deadLetters.replay(letter.id)).toEqual({ ok: true, letter });
    expect(replayer).toHaveBeenCalledWith('order-1', { amount: 5 });
    await expect(deadLetters.get(letter.id)).rejects.toBeInstanceOf(DeadLetterNotFoundError);
  });

  it('should keep a letter whose replay fails, and keep no second one for it', async () => {
    const { deadLetters } = await deadLettersOf();
    // As a policy's failure hook would: the replayed call fails again and is recorded again.
    deadLetters.registerReplayer('payments', async (...args) => {
      const error = new Error('still declined');
      await deadLetters.record('payments', args, error);
      throw error;
    });
    const letter = await deadLetters.record('payments', ['order-1'], refused());

    expect(await deadLetters.replay(letter.id)).toEqual({
      ok: false,
      letter,
      error: { name: 'Error', message: 'still declined' },
    });
    expect(await deadLetters.list()).toEqual([letter]);
  });

  it('should refuse to replay an unknown letter, one without a replayer, and one being replayed', async () => {
    const { deadLetters } = await deadLettersOf();
    let finish!: () => void;
    deadLetters.registerReplayer('payments', () => new Promise<void>((resolve) => (finish = resolve)));
    const letter = await deadLetters.record('payments', ['order-1'], refused());
    const orphan = await deadLetters.record('renamed', ['x'], refused());

    await expect(deadLetters.replay('404')).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    await expect(deadLetters.replay(orphan.id)).rejects.toThrow(
      new NoReplayerError(orphan.id, 'renamed').message,
    );
    const first = deadLetters.replay(letter.id);
    await expect(deadLetters.replay(letter.id)).rejects.toBeInstanceOf(ReplayInProgressError);
    await new Promise(setImmediate);
    finish();
    expect((await first).ok).toBe(true);
  });

  it('should purge every letter, or those of one policy', async () => {
    const { deadLetters } = await deadLettersOf();
    await deadLetters.record('payments', ['a'], refused());
    await deadLetters.record('emails', ['b'], refused());

    expect(await deadLetters.purge('emails')).toBe(1);
    expect(await deadLetters.purge()).toBe(1);
    expect(await deadLetters.list()).toEqual([]);
  });

  describe('with the sqlite store', () => {
    const dir = useTempDir();

    it('should keep its letters across an app restart and replay them in the new app', async () => {
      const store = { type: 'sqlite' as const, path: join(dir(), 'state.db') };
      const before = await deadLettersOf({ store });
      const letter = await before.deadLetters.record('payments', ['order-1', { amount: 5 }], refused(), 2);
      await before.close();

      const after = await deadLettersOf({ store });
      expect(await after.deadLetters.list()).toEqual([letter]);
      const replayer = jest.fn();
      after.deadLetters.registerReplayer('payments', replayer);
      expect((await after.deadLetters.replay(letter.id)).ok).toBe(true);
      expect(replayer).toHaveBeenCalledWith('order-1', { amount: 5 });
      await after.close();

      const third = await deadLettersOf({ store });
      expect(await third.deadLetters.list()).toEqual([]);
    });
  });
});
