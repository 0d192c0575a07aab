import { Breaker } from '../../src/core/breaker';
import {
  BreakerOpenError,
  BreakerTimeoutError,
  InvalidBreakerOptionsError,
  ResetCooldownError,
  ResilienceError,
  isBreakerOpenError,
  isBreakerTimeoutError,
  isResilienceError,
} from '../../src/core/errors';

describe('Errors', () => {
  it.each([
    ['BreakerOpenError', new BreakerOpenError('payments', 'open', 1_000), 'BREAKER_OPEN'],
    ['BreakerTimeoutError', new BreakerTimeoutError('payments', 500), 'BREAKER_TIMEOUT'],
    ['ResetCooldownError', new ResetCooldownError('payments', 1_000), 'RESET_COOLDOWN'],
    [
      'InvalidBreakerOptionsError',
      new InvalidBreakerOptionsError('payments', 'timeout', -1, 'x'),
      'INVALID_BREAKER_OPTIONS',
    ],
  ])('%s is a branded ResilienceError with its stable code and name', (name, error, code) => {
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error).toMatchObject({ name, code, isResilienceError: true });
    expect(isResilienceError(error)).toBe(true);
    expect(isResilienceError(error, code as never)).toBe(true);
  });

  it('BreakerOpenError says which breaker is open', () => {
    const error = new BreakerOpenError('payments', 'open', 1_000);

    expect(error.message).toBe('Circuit breaker "payments" is open and does not permit further calls');
    expect(error).toMatchObject({ breaker: 'payments', state: 'open', retryAfterMs: 1_000 });
  });

  it('BreakerOpenError names a forced-open state', () => {
    expect(new BreakerOpenError('payments', 'forced_open', 0).message).toBe(
      'Circuit breaker "payments" is forced_open and does not permit further calls',
    );
  });

  it('BreakerOpenError carries no stack frames, and leaves stack traces of other errors alone', () => {
    const before = Error.stackTraceLimit;

    const error = new BreakerOpenError('payments', 'open', 1_000);

    expect(error.stack).toBeDefined();
    expect(error.stack).not.toContain('    at ');
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('other').stack).toContain('    at ');
  });

  it('BreakerOpenError reads the same whether a breaker or the constructor made it', async () => {
    const breaker = new Breaker('payments', { failureThreshold: 1, autoRecover: false, openDuration: 1_000 });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);

    const made = (await breaker.execute(() => 'never').catch((e: unknown) => e)) as BreakerOpenError;
    const built = new BreakerOpenError('payments', 'open', 1_000);

    expect(made).toBeInstanceOf(BreakerOpenError);
    expect(Object.keys(made)).toEqual(Object.keys(built));
    expect(JSON.stringify(made)).toBe(JSON.stringify(built));
    expect(made.stack).toBe(built.stack);
  });

  it('other errors keep their stack frames', () => {
    expect(new BreakerTimeoutError('payments', 500).stack).toContain('    at ');
  });

  describe('guards', () => {
    it('recognise a plain object copy, as thrown by another copy of the package', () => {
      const copy = { isResilienceError: true, code: 'BREAKER_OPEN' };

      expect(isResilienceError(copy)).toBe(true);
      expect(isResilienceError(copy, 'BREAKER_OPEN')).toBe(true);
      expect(isBreakerOpenError(copy)).toBe(true);
      expect(isBreakerTimeoutError(copy)).toBe(false);
      expect(isResilienceError(copy, 'RESET_COOLDOWN')).toBe(false);
    });

    it('recognise a timeout copy', () => {
      expect(isBreakerTimeoutError({ isResilienceError: true, code: 'BREAKER_TIMEOUT' })).toBe(true);
    });

    it.each([
      ['a plain Error', new Error('x')],
      ['null', null],
      ['undefined', undefined],
      ['a string', 'BREAKER_OPEN'],
      ['a truthy but not true brand', { isResilienceError: 'yes', code: 'BREAKER_OPEN' }],
      ['a code without the brand', { code: 'BREAKER_OPEN' }],
    ])('reject %s', (_label, value) => {
      expect(isResilienceError(value)).toBe(false);
      expect(isBreakerOpenError(value)).toBe(false);
    });
  });
});
