import { defaultFailureWeight } from '../../src/core/default-predicates';
import { BreakerTimeoutError } from '../../src/core/errors';
import { boom, breakerOn, fail, fakeClock, record } from './breaker-test-kit';

class HttpLikeException extends Error {
  constructor(private readonly status: number) {
    super(`HTTP ${status}`);
  }
  getStatus(): number {
    return this.status;
  }
}

describe('Which errors count', () => {
  describe('by default', () => {
    it.each([
      ['an object with status 404', { status: 404 }],
      ['an exception whose getStatus() returns 400', new HttpLikeException(400)],
      [
        'an error whose response.status is 422',
        Object.assign(new Error('unprocessable'), { response: { status: 422 } }),
      ],
      ['an object with statusCode 429', { statusCode: 429 }],
    ])('ignores %s: an `ignored` event, in neither count', async (_label, error) => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 1 });
      const ignored = record(breaker, 'ignored');
      const failures = record(breaker, 'failure');

      await fail(breaker, 3, error);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0, successes: 0, calls: 0 });
      expect(ignored).toHaveLength(3);
      expect(ignored[0]).toEqual({ breaker: 'payments', durationMs: 0, error });
      expect(failures).toEqual([]);
    });

    it.each([
      ['an object with status 500', { status: 500 }],
      ['an exception whose getStatus() returns 503', new HttpLikeException(503)],
      [
        'an error whose response.status is 502',
        Object.assign(new Error('bad gateway'), { response: { status: 502 } }),
      ],
      ['a plain Error', boom()],
      ['a thrown string', 'oops'],
      ['an error whose status is not a number', { status: '404' }],
    ])('counts %s as a failure', async (_label, error) => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 1 });
      const failures = record(breaker, 'failure');

      await fail(breaker, 1, error);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 1, calls: 1 });
      expect(failures).toEqual([{ breaker: 'payments', durationMs: 0, error, weight: 1 }]);
    });

    it('rejects the caller with the very error the call threw, ignored or not', async () => {
      const breaker = breakerOn(fakeClock());
      const notFound = { status: 404 };

      await expect(breaker.execute(() => Promise.reject(notFound))).rejects.toBe(notFound);
      await expect(
        breaker.execute(() => {
          throw notFound;
        }),
      ).rejects.toBe(notFound);
    });

    it('weighs a timeout 0.5 and any other failure 1', () => {
      expect(defaultFailureWeight(new BreakerTimeoutError('payments', 1_000))).toBe(0.5);
      expect(defaultFailureWeight(boom())).toBe(1);
      expect(defaultFailureWeight({ isResilienceError: true, code: 'BREAKER_TIMEOUT' })).toBe(0.5);
    });
  });

  describe('with isFailure', () => {
    it('ignores what the predicate says is not a failure', async () => {
      const breaker = breakerOn(fakeClock(), {
        failureThreshold: 1,
        isFailure: (e) => !(e instanceof TypeError),
      });

      await fail(breaker, 1, new TypeError('caller bug'));
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0 });
      await fail(breaker, 1, { status: 404 });
      expect(breaker.state).toBe('open');
    });

    it('counts the error as a failure when the predicate itself throws', async () => {
      const breaker = breakerOn(fakeClock(), {
        failureThreshold: 1,
        isFailure: () => {
          throw new Error('predicate bug');
        },
      });

      await fail(breaker);

      expect(breaker.state).toBe('open');
    });
  });

  describe('with failureWeight', () => {
    it('adds up the weights it gives and reports each in the failure event', async () => {
      const minor = new Error('minor');
      const breaker = breakerOn(fakeClock(), {
        failureThreshold: 1,
        failureWeight: (e) => (e === minor ? 0.25 : 1),
      });
      const failures = record(breaker, 'failure');

      await fail(breaker, 3, minor);
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0.75, calls: 3, successes: 0 });
      await fail(breaker, 1, minor);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 1 });
      expect(failures.map((f) => f.weight)).toEqual([0.25, 0.25, 0.25, 0.25]);
    });

    it('opens when ten failures weighing 0.1 reach a threshold of 1, despite float rounding', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 1, failureWeight: () => 0.1 });

      await fail(breaker, 9);
      expect(breaker.state).toBe('closed');
      await fail(breaker);

      expect(breaker.state).toBe('open');
    });

    it.each([
      ['negative', -1],
      ['NaN', NaN],
      ['not a number', '0.5'],
    ])('weighs a failure 1 when the weight is %s', async (_label, weight) => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 1, failureWeight: () => weight as number });

      await fail(breaker);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 1 });
    });

    it('weighs a failure 1 when the weight function throws', async () => {
      const breaker = breakerOn(fakeClock(), {
        failureThreshold: 1,
        failureWeight: () => {
          throw new Error('weight bug');
        },
      });

      await fail(breaker);

      expect(breaker.state).toBe('open');
    });

    it('counts a zero-weight failure as a call but not toward the threshold', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 1, failureWeight: () => 0 });

      await fail(breaker, 5);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0, calls: 5, successes: 0 });
    });
  });
});
