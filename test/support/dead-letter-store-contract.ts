import type { DeadLetterStore, NewDeadLetter } from '../../src/core/dead-letter-store';

/** A letter of `policy`, numbered `n`. */
export const letter = (policy: string, n: number): NewDeadLetter => ({
  policy,
  args: [`order-${n}`, { amount: n, tags: ['a', null] }],
  error: { name: 'Error', message: `payment ${n} failed`, code: 'ECONNRESET' },
  attempts: 3,
  at: 1_700_000_000_000 + n,
});

/** What every dead-letter store does, whatever keeps it. */
export function behavesAsDeadLetterStore(make: (capacity?: number) => DeadLetterStore): void {
  it('should keep a letter and give it an id, and list the newest first', async () => {
    const store = make();
    const first = await store.add(letter('payments', 1));
    const second = await store.add(letter('emails', 2));

    expect(first).toEqual({ id: expect.any(String), ...letter('payments', 1) });
    expect(second.id).not.toBe(first.id);
    expect(await store.list()).toEqual([second, first]);
    expect(await store.list({ policy: 'payments' })).toEqual([first]);
    expect(await store.list({ limit: 1 })).toEqual([second]);
    expect(await store.get(first.id)).toEqual(first);
  });

  it('should remove one letter, and never give its id again', async () => {
    const store = make();
    const first = await store.add(letter('payments', 1));

    expect(await store.remove(first.id)).toBe(true);
    expect(await store.remove(first.id)).toBe(false);
    expect(await store.get(first.id)).toBeUndefined();
    expect((await store.add(letter('payments', 2))).id).not.toBe(first.id);
  });

  it('should answer undefined for an id it never gave', async () => {
    const store = make();
    await store.add(letter('payments', 1));

    for (const id of ['999', 'abc', '', '1; DROP TABLE dead_letters', '-1', '1.5'])
      expect(await store.get(id)).toBeUndefined();
  });

  it('should know a letter by its own id only: another spelling of it names nothing', async () => {
    const store = make();
    const { id } = await store.add(letter('payments', 1));
    // Leading zeros, a sign, or a number past what an id can hold: a replay by any of them
    // would take a lock of its own and run the call a second time.
    const spellings = [`0${id}`, `00${id}`, `+${id}`, `${id} `, id.replace(/\d+/, '99999999999999999999')];
    for (const spelling of spellings) {
      expect(await store.get(spelling)).toBeUndefined();
      expect(await store.remove(spelling)).toBe(false);
    }
    expect(await store.get(id)).toMatchObject({ id });
  });

  it('should purge every letter, or those of one policy, and say how many', async () => {
    const store = make();
    for (let n = 1; n <= 3; n++) await store.add(letter('payments', n));
    await store.add(letter('emails', 4));

    expect(await store.purge('payments')).toBe(3);
    expect((await store.list()).map((l) => l.policy)).toEqual(['emails']);
    expect(await store.purge()).toBe(1);
    expect(await store.list()).toEqual([]);
  });

  it('should keep only the newest letters past its capacity', async () => {
    const store = make(3);
    for (let n = 1; n <= 5; n++) await store.add(letter('payments', n));

    expect((await store.list()).map((l) => l.args[0])).toEqual(['order-5', 'order-4', 'order-3']);
  });

  it('should hand out copies: changing one changes nothing kept', async () => {
    const store = make();
    const kept = await store.add(letter('payments', 1));
    (kept.args[1] as { amount: number }).amount = 0;

    expect((await store.get(kept.id))?.args[1]).toEqual({ amount: 1, tags: ['a', null] });
  });
}
