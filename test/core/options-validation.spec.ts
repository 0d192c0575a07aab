import { Breaker } from '../../src/core/breaker';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { InvalidBreakerOptionsError, type OptionScope } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';

/** The InvalidBreakerOptionsError that `build` throws; fails the test when it throws nothing or something else. */
function invalid(build: () => unknown): InvalidBreakerOptionsError {
  try {
    build();
  } catch (error) {
    if (error instanceof InvalidBreakerOptionsError) return error;
    throw error;
  }
  throw new Error('expected an InvalidBreakerOptionsError');
}

/**
 * Checks what a user reads: where the option sits (a breaker by name, or a scope such as
 * `{ scope: 'defaults' }`), which key, and what was expected, in the message too.
 */
function expectInvalid(
  build: () => unknown,
  where: string | { scope: OptionScope },
  key: string,
  expected: string,
): void {
  const error = invalid(build);
  const site =
    typeof where === 'string' ? { scope: 'breaker', breaker: where } : { ...where, breaker: undefined };
  expect(error).toMatchObject({ code: 'INVALID_BREAKER_OPTIONS', key, ...site });
  expect(error.expected).toContain(expected);
  expect(error.message).toContain(
    typeof where === 'string' ? `circuit breaker "${where}"` : `Invalid option in ${where.scope}: `,
  );
  expect(error.message).toContain(`${key} = `);
  expect(error.message).toContain(`expected ${expected}`);
}

const breaker = (options: unknown) => () => new Breaker('payments', options as BreakerOptions);

describe('Breaker options validation', () => {
  it('accepts no options at all and fills in the documented defaults', () => {
    expect(new Breaker('payments').options).toMatchObject({
      failureThreshold: 5,
      failureRateThreshold: undefined,
      minimumCalls: 10,
      window: { type: 'time', ms: 60_000 },
      slowCallDuration: undefined,
      slowCallRateThreshold: undefined,
      openDuration: 30_000,
      openBackoff: 1,
      openDurationMax: 30_000,
      autoRecover: true,
      halfOpenMaxCalls: 1,
      halfOpenMaxWait: 30_000,
      timeout: false,
      resetCooldown: 60_000,
      critical: false,
      preset: undefined,
    });
  });

  it('names the breaker, the key, the value and the expectation in the message', () => {
    const error = invalid(breaker({ failureThreshold: '5' }));

    expect(error).toBeInstanceOf(InvalidBreakerOptionsError);
    expect(error).toMatchObject({
      breaker: 'payments',
      key: 'failureThreshold',
      value: '5',
      expected: 'a number > 0',
    });
    expect(error.message).toBe(
      'Invalid option for circuit breaker "payments": failureThreshold = "5"; expected a number > 0',
    );
  });

  it('rejects a value of the wrong type', () => {
    expectInvalid(breaker({ failureThreshold: '5' }), 'payments', 'failureThreshold', 'a number > 0');
  });

  it('rejects a negative duration', () => {
    expectInvalid(breaker({ openDuration: -1 }), 'payments', 'openDuration', 'a duration in ms > 0');
  });

  it('rejects a zero duration', () => {
    expectInvalid(breaker({ halfOpenMaxWait: 0 }), 'payments', 'halfOpenMaxWait', 'a duration in ms > 0');
  });

  it('rejects NaN', () => {
    expectInvalid(breaker({ minimumCalls: NaN }), 'payments', 'minimumCalls', 'an integer >= 1');
  });

  it('rejects Infinity', () => {
    expectInvalid(
      breaker({ timeout: Infinity }),
      'payments',
      'timeout',
      'a duration in ms > 0 and <= 2147483647 (about 24.8 days), or false',
    );
  });

  it('rejects timeout: true (only false switches it off)', () => {
    expectInvalid(
      breaker({ timeout: true }),
      'payments',
      'timeout',
      'a duration in ms > 0 and <= 2147483647 (about 24.8 days), or false',
    );
  });

  it('rejects a ratio above 1', () => {
    expectInvalid(
      breaker({ failureRateThreshold: 1.5 }),
      'payments',
      'failureRateThreshold',
      'a ratio in (0, 1]',
    );
  });

  it('rejects a ratio of 0', () => {
    expectInvalid(
      breaker({ slowCallDuration: 100, slowCallRateThreshold: 0 }),
      'payments',
      'slowCallRateThreshold',
      'a ratio in (0, 1]',
    );
  });

  it('rejects a count window of size 0', () => {
    expectInvalid(
      breaker({ window: { type: 'count', size: 0 } }),
      'payments',
      'window.size',
      'an integer >= 1',
    );
  });

  it('rejects a count window of non-integer size', () => {
    expectInvalid(
      breaker({ window: { type: 'count', size: 2.5 } }),
      'payments',
      'window.size',
      'an integer >= 1',
    );
  });

  it('rejects a time window without a positive ms', () => {
    expectInvalid(
      breaker({ window: { type: 'time', ms: 0 } }),
      'payments',
      'window.ms',
      'a duration in ms >= 10',
    );
  });

  it('rejects an unknown window type', () => {
    expectInvalid(
      breaker({ window: { type: 'sliding', size: 5 } }),
      'payments',
      'window.type',
      "'time' or 'count'",
    );
  });

  it('rejects a window that is not an object', () => {
    expectInvalid(
      breaker({ window: 'count' }),
      'payments',
      'window',
      "{ type: 'time', ms } or { type: 'count', size }",
    );
  });

  it('rejects a window with a key of the other type', () => {
    expectInvalid(
      breaker({ window: { type: 'time', ms: 1_000, size: 5 } }),
      'payments',
      'window.size',
      'no such option; known: type, ms',
    );
  });

  it('rejects minimumCalls above the count window size', () => {
    expectInvalid(
      breaker({ window: { type: 'count', size: 5 }, minimumCalls: 10 }),
      'payments',
      'minimumCalls',
      'at most window.size (5)',
    );
  });

  it('caps the default minimumCalls at a smaller count window instead of rejecting an option nobody set', () => {
    const options = new Breaker('payments', { window: { type: 'count', size: 5 }, failureRateThreshold: 0.5 })
      .options;

    expect(options.minimumCalls).toBe(5);
  });

  it('rejects an unknown preset', () => {
    expectInvalid(
      breaker({ preset: 'grpc' }),
      'payments',
      'preset',
      'one of http, llm, database, notification, cache',
    );
  });

  it('rejects an unknown key, such as a misspelt one', () => {
    expectInvalid(breaker({ failureTreshold: 3 }), 'payments', 'failureTreshold', 'no such option');
  });

  it('rejects slowCallDuration without slowCallRateThreshold', () => {
    expectInvalid(
      breaker({ slowCallDuration: 1_000 }),
      'payments',
      'slowCallRateThreshold',
      'set together with the other slow-call option',
    );
  });

  it('rejects slowCallRateThreshold without slowCallDuration', () => {
    expectInvalid(
      breaker({ slowCallRateThreshold: 0.5 }),
      'payments',
      'slowCallDuration',
      'set together with the other slow-call option',
    );
  });

  it('rejects a halfOpenMaxCalls that is not an integer', () => {
    expectInvalid(breaker({ halfOpenMaxCalls: 1.5 }), 'payments', 'halfOpenMaxCalls', 'an integer >= 1');
  });

  it('rejects a predicate that is not a function', () => {
    expectInvalid(breaker({ isFailure: true }), 'payments', 'isFailure', 'a function (error) => boolean');
  });

  it('rejects a flag that is not a boolean', () => {
    expectInvalid(breaker({ critical: 'yes' }), 'payments', 'critical', 'true or false');
  });

  it('rejects an openBackoff below 1', () => {
    expectInvalid(breaker({ openBackoff: 0.5 }), 'payments', 'openBackoff', 'a multiplier >= 1');
  });

  it('rejects openBackoff above 1 without an openDurationMax above openDuration', () => {
    expectInvalid(
      breaker({ openDuration: 1_000, openBackoff: 2 }),
      'payments',
      'openDurationMax',
      'a cap above openDuration (1000)',
    );
  });

  it('rejects openBackoff above 1 with openDurationMax equal to openDuration', () => {
    expectInvalid(
      breaker({ openDuration: 1_000, openBackoff: 2, openDurationMax: 1_000 }),
      'payments',
      'openDurationMax',
      'a cap above openDuration (1000)',
    );
  });

  it('accepts openBackoff above 1 with openDurationMax above openDuration', () => {
    expect(
      new Breaker('payments', { openDuration: 1_000, openBackoff: 2, openDurationMax: 1_001 }).options,
    ).toMatchObject({
      openBackoff: 2,
      openDurationMax: 1_001,
    });
  });

  it('rejects an openDurationMax below openDuration', () => {
    expectInvalid(
      breaker({ openDuration: 10_000, openDurationMax: 5_000 }),
      'payments',
      'openDurationMax',
      'at least openDuration (10000)',
    );
  });

  it('rejects options that are not an object', () => {
    expectInvalid(breaker(5), 'payments', '(options)', 'an object');
  });

  it('rejects options given as an array', () => {
    expectInvalid(breaker([{ failureThreshold: 1 }]), 'payments', '(options)', 'an object');
  });

  it('rejects options given as null', () => {
    expectInvalid(breaker(null), 'payments', '(options)', 'an object');
  });

  describe('bounds of what the runtime can do', () => {
    it.each([
      'timeout',
      'openDuration',
      'openDurationMax',
      'halfOpenMaxWait',
      'slowCallDuration',
      'resetCooldown',
    ])('rejects a %s no timer can wait (2^31 ms)', (key) => {
      const options = { [key]: 2 ** 31, ...(key === 'slowCallDuration' && { slowCallRateThreshold: 0.5 }) };
      const floor = key === 'resetCooldown' ? '>= 0' : '> 0';
      expectInvalid(breaker(options), 'payments', key, `a duration in ms ${floor} and <= 2147483647`);
    });

    it('accepts the longest duration a timer can wait', () => {
      const longest = 2 ** 31 - 1;
      expect(new Breaker('payments', { timeout: longest, openDuration: longest }).options).toMatchObject({
        timeout: longest,
        openDuration: longest,
      });
    });

    it('rejects a count window larger than a million calls', () => {
      expectInvalid(
        breaker({ window: { type: 'count', size: 1e10 } }),
        'payments',
        'window.size',
        'an integer >= 1 and <= 1,000,000',
      );
      expect(new Breaker('payments', { window: { type: 'count', size: 1_000_000 } }).options.window).toEqual({
        type: 'count',
        size: 1_000_000,
      });
    });

    it('rejects a time window too short for 1 ms buckets', () => {
      expectInvalid(
        breaker({ window: { type: 'time', ms: 0.001 } }),
        'payments',
        'window.ms',
        'a duration in ms >= 10',
      );
      expect(new Breaker('payments', { window: { type: 'time', ms: 10 } }).options.window.type).toBe('time');
    });

    it('rejects maxKeysPerBreaker beyond what a Map holds', () => {
      expectInvalid(
        () => new BreakerRegistry({ maxKeysPerBreaker: 2 ** 24 }),
        { scope: 'registry' },
        'maxKeysPerBreaker',
        'an integer >= 1 and <= 16,777,215',
      );
    });
  });

  it('rejects an unknown key of the registry options', () => {
    expectInvalid(
      () => new BreakerRegistry({ default: {} } as never),
      { scope: 'registry' },
      'default',
      'no such option; known: defaults, breakers, clock, maxKeysPerBreaker, maxBreakers, auditLog',
    );
  });

  it('accepts resetCooldown 0 (no cooldown)', () => {
    expect(new Breaker('payments', { resetCooldown: 0 }).options.resetCooldown).toBe(0);
  });

  describe('in the registry', () => {
    it('throws at construction for a bad configured breaker, naming it', () => {
      expectInvalid(
        () => new BreakerRegistry({ breakers: { ok: {}, llm: { halfOpenMaxCalls: 0 } } }),
        'llm',
        'halfOpenMaxCalls',
        'an integer >= 1',
      );
    });

    it('throws at construction for bad defaults', () => {
      expectInvalid(
        () => new BreakerRegistry({ defaults: { openDuration: -5 } }),
        { scope: 'defaults' },
        'openDuration',
        'a duration in ms > 0',
      );
    });

    it('throws at construction for defaults that are only invalid as a whole', () => {
      expectInvalid(
        () => new BreakerRegistry({ defaults: { openDuration: 1_000, openBackoff: 2 } }),
        { scope: 'defaults' },
        'openDurationMax',
        'a cap above openDuration (1000)',
      );
    });

    it('throws when breakers is not an object', () => {
      expectInvalid(
        () => new BreakerRegistry({ breakers: ['payments'] as unknown as Record<string, BreakerOptions> }),
        { scope: 'registry' },
        'breakers',
        'an object of breaker name -> options',
      );
    });

    it('throws when a configured breaker has options that are not an object', () => {
      expectInvalid(
        () => new BreakerRegistry({ breakers: { payments: 5 as unknown as BreakerOptions } }),
        'payments',
        '(options)',
        'an object',
      );
    });

    it.each([0, 2.5, -1, '10', NaN])('throws for maxKeysPerBreaker %p', (maxKeysPerBreaker) => {
      expectInvalid(
        () => new BreakerRegistry({ maxKeysPerBreaker: maxKeysPerBreaker as number }),
        { scope: 'registry' },
        'maxKeysPerBreaker',
        'an integer >= 1',
      );
    });

    it('throws for a bad breaker name', () => {
      expectInvalid(() => new BreakerRegistry().get(''), '', 'name', 'a non-empty string');
    });
  });
});
