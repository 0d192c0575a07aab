import { Injectable } from '@nestjs/common';
import { InvalidBreakerOptionsError } from '../../src/core/errors';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { Bulkhead, RateLimit, Resilient, Retry, Timeout } from '../../src/nest/policy.decorators';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';

@Injectable()
class Plain {
  async run(): Promise<string> {
    return 'ok';
  }
}

async function bootError(options: ResilienceModuleRootOptions, providers: unknown[] = [Plain]) {
  try {
    await createApp({ providers: providers as never[] }, options);
  } catch (error) {
    return error as InvalidBreakerOptionsError;
  }
  throw new Error('expected the boot to fail');
}

/** A provider whose `run` carries `decorators` (first = top). */
function decorated(...decorators: MethodDecorator[]) {
  @Injectable()
  class Payments {
    async run(): Promise<string> {
      return 'ok';
    }
    cached(): string {
      return 'cached';
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(Payments.prototype, 'run') as PropertyDescriptor;
  Object.defineProperty(
    Payments.prototype,
    'run',
    Reflect.decorate(decorators, Payments.prototype, 'run', descriptor),
  );
  return Payments;
}

describe('boot checks of policies', () => {
  afterEach(closeAllApps);

  it.each([
    [{ retry: { attempts: 1.5 } }, 'retry.attempts'],
    [{ retry: { delay: -1 } }, 'retry.delay'],
    [{ retry: { maxDelay: 'long' } }, 'retry.maxDelay'],
    [{ retry: { backoff: 'linear' } }, 'retry.backoff'],
    [{ retry: { jitter: 'equal' } }, 'retry.jitter'],
    [{ retry: { retryOn: 'all' } }, 'retry.retryOn'],
    [{ retry: { budget: 0.2 } }, 'retry.budget'],
    [{ retry: { budget: { ratio: 'x' } } }, 'retry.budget.ratio'],
    [{ retry: { budget: { minPerSecond: -1 } } }, 'retry.budget.minPerSecond'],
    [{ timeout: -5 }, 'timeout'],
    [{ bulkhead: { maxQueue: 1 } }, 'bulkhead.maxConcurrent'],
    [{ bulkhead: { maxConcurrent: 1, maxQueue: 0.5 } }, 'bulkhead.maxQueue'],
    [{ bulkhead: { maxConcurrent: 1, queueTimeout: 'soon' } }, 'bulkhead.queueTimeout'],
    [{ rateLimit: {} }, 'rateLimit.limit'],
    [{ rateLimit: { limit: 10, interval: 0 } }, 'rateLimit.interval'],
    [{ rateLimit: { limit: 10, burst: -1 } }, 'rateLimit.burst'],
    [{ rateLimit: { limit: 10, scope: 'cluster' } }, 'rateLimit.scope'],
    [{ rateLimit: { limit: 10, scope: 'fleet' } }, 'rateLimit.scope'],
    [{ rateLimit: { limit: 10, key: 1 } }, 'rateLimit.key'],
    [{ breaker: 7 }, 'breaker'],
    [{ breaker: 'a#b' }, 'breaker'],
    [{ deadLetter: 1 }, 'deadLetter'],
    [{ retyr: {} }, 'retyr'],
    [{ breaker: 'payments', timeout: 1_000 }, 'timeout'],
    [{ retry: { attempts: 2, delay: 500 }, timeout: 1_500 }, 'timeout'],
  ])('should refuse policies.payments = %j naming %s', async (policy, key) => {
    const error = await bootError({
      breakers: { payments: { timeout: 1_000 } },
      policies: { payments: policy as never },
    });
    expect(error).toBeInstanceOf(InvalidBreakerOptionsError);
    expect(error).toMatchObject({ scope: 'policy', breaker: 'payments', key });
    expect(error.message).toContain('policy "payments"');
  });

  it('should list the known keys of a policy and name the Redis store for a fleet rate limit', async () => {
    const unknown = await bootError({ policies: { payments: { retries: 3 } as never } });
    expect(unknown.message).toContain('known: breaker, retry, timeout, bulkhead, rateLimit, deadLetter');
    const fleet = await bootError({ policies: { payments: { rateLimit: { limit: 1, scope: 'fleet' } } } });
    expect(fleet.message).toContain('rateLimit.scope = "fleet"; expected \'instance\', or a Redis store');
  });

  it.each([null, undefined])(
    'should say an object was expected for policies.payments = %j',
    async (policy) => {
      const error = await bootError({ policies: { payments: policy as never } });
      expect(error).toMatchObject({
        scope: 'policy',
        breaker: 'payments',
        key: '(options)',
        expected: 'an object',
      });
      expect(error.message).toContain('policy "payments"');
    },
  );

  it('should refuse a policies option that is not an object', async () => {
    await expect(bootError({ policies: [] as never })).resolves.toMatchObject({
      key: 'policies',
      scope: 'module',
    });
  });

  it.each([
    ['@Retry', [Retry({ attempts: -1 })], 'retry.attempts'],
    ['@Timeout', [Timeout(0)], 'timeout'],
    ['@Bulkhead', [Bulkhead({ maxConcurrent: 0 })], 'bulkhead.maxConcurrent'],
    ['@RateLimit', [RateLimit({ limit: 5, scope: 'fleet' })], 'rateLimit.scope'],
    ['@Timeout under the breaker timeout', [Timeout(500), CircuitBreaker('slow')], 'timeout'],
    [
      '@Timeout under the keyed breaker timeout',
      [Timeout(500), CircuitBreaker('slow', { key: () => 'k' })],
      'timeout',
    ],
    ['@Timeout under the retry delays', [Timeout(500), Retry({ attempts: 2, delay: 300 })], 'timeout'],
  ])('should fail the boot for a bad %s naming the key and Class.method', async (_name, decorators, key) => {
    const error = await bootError({ breakers: { slow: { timeout: 500 } } }, [decorated(...decorators)]);
    expect(error).toMatchObject({ scope: 'policy', breaker: 'Payments.run', key });
  });

  it('should fail the boot for @Resilient naming no configured policy, listing those configured', async () => {
    const error = await bootError({ policies: { payments: {}, search: {} } }, [
      decorated(Resilient('paymnets')),
    ]);
    expect(error.message).toContain('paymnets');
    expect(error.message).toContain('configured: payments, search');
  });

  it('should fail the boot for @Resilient whose policy has a breaker on a method with @CircuitBreaker', async () => {
    const error = await bootError({ policies: { payments: { breaker: 'a' } } }, [
      decorated(Resilient('payments'), CircuitBreaker('b')),
    ]);
    expect(error).toMatchObject({ key: 'breaker', breaker: 'payments' });
  });

  it.each([
    ['@CircuitBreaker', CircuitBreaker('slow')],
    ['a keyed @CircuitBreaker', CircuitBreaker('slow', { key: () => 'k' })],
  ])(
    "should hold a @Resilient policy's timeout above the per-attempt timeout of %s on the method, as @Timeout's",
    async (_name, breaker) => {
      const options = { breakers: { slow: { timeout: 500 } }, policies: { payments: { timeout: 500 } } };
      const named = await bootError(options, [decorated(Resilient('payments'), breaker)]);
      const anonymous = await bootError(options, [decorated(Timeout(500), breaker)]);
      expect(named).toBeInstanceOf(InvalidBreakerOptionsError);
      expect(named).toMatchObject({ scope: 'policy', breaker: 'payments', key: 'timeout', value: 500 });
      expect(named.expected).toBe(anonymous.expected);
    },
  );

  it('should create no unkeyed breaker for a keyed @CircuitBreaker under a policy', async () => {
    const Hosts = decorated(Retry({ attempts: 1 }), CircuitBreaker('hosts', { key: () => 'a.example' }));
    // One named breaker allowed, taken by `payments`: a phantom `hosts` would fail the boot.
    const t = await createApp({ providers: [Hosts] }, { maxBreakers: 1, breakers: { payments: {} } });
    await expect(t.app.get(Hosts).run()).resolves.toBe('ok');
    expect(t.registry.all().map((b) => b.name)).toEqual(['payments', 'hosts#a.example']);
  });

  it('should fail the boot for a @Resilient fallback naming no method', async () => {
    const error = await bootError({ policies: { payments: {} } }, [
      decorated(Resilient('payments', { fallback: 'cahced' })),
    ]);
    expect(error).toMatchObject({ key: 'fallback', value: 'cahced' });
  });

  it('should refuse @Resilient combined with anonymous policy decorators when the class is defined', () => {
    expect(() => decorated(Resilient('payments'), Retry())).toThrow(TypeError);
    expect(() => decorated(Retry(), Retry())).toThrow('@Retry is applied twice to Payments.run');
  });

  it("should boot with the README's named policies", async () => {
    const t = await createApp(
      { providers: [decorated(Resilient('payments'))] },
      {
        breakers: { payments: { preset: 'http', timeout: 3_000 } },
        policies: {
          payments: {
            breaker: 'payments',
            retry: { attempts: 3, delay: 200, maxDelay: 5_000 },
            timeout: 10_000,
            bulkhead: { maxConcurrent: 20, maxQueue: 50 },
            rateLimit: { limit: 100, interval: 1_000 },
          },
        },
      },
    );
    expect(t.registry.get('payments').options.timeout).toBe(3_000);
  });
});
