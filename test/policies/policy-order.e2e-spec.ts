import { Injectable } from '@nestjs/common';
import { isResilienceError } from '../../src/core/errors';
import { getCallSignal } from '../../src/nest/breaker-call';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { Bulkhead, RateLimit, Retry, Timeout } from '../../src/nest/policy.decorators';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';

type Behaviour = (this: Target, ...args: unknown[]) => Promise<unknown>;

/** A provider whose one method gets the two decorators in the order given (first = top in the source). */
interface Target {
  calls: number;
  run(): Promise<unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function targetWith(decorators: MethodDecorator[], behaviour: Behaviour): new () => Target {
  @Injectable()
  class Subject implements Target {
    calls = 0;
    async run(): Promise<unknown> {
      this.calls++;
      return behaviour.call(this);
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(Subject.prototype, 'run') as PropertyDescriptor;
  // Applied bottom-up, as TypeScript applies decorators written in the source.
  const decorated = Reflect.decorate(decorators, Subject.prototype, 'run', descriptor) as PropertyDescriptor;
  Object.defineProperty(Subject.prototype, 'run', decorated);
  return Subject;
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (e: unknown) => (isResilienceError(e) ? e.code : (e as Error).message),
  );

interface Pair {
  /** The outer protection first, as the one order has it. */
  readonly name: string;
  readonly outer: MethodDecorator;
  readonly inner: MethodDecorator;
  readonly behaviour: Behaviour;
  /** Drives the app and asserts what only the fixed order gives. */
  readonly check: (t: TestApp, target: Target) => Promise<void>;
}

const failing: Behaviour = async () => {
  throw new Error('down');
};
/** Methods running now, and the most at once, for the pair that counts them. */
let running = 0;
let peak = 0;
beforeEach(() => {
  running = 0;
  peak = 0;
});

const hanging =
  (ms: number): Behaviour =>
  () =>
    sleep(ms);

const pairs: Pair[] = [
  {
    name: 'rate limit → bulkhead: a rate-limited call takes no slot',
    outer: RateLimit({ limit: 1, interval: 60_000 }),
    inner: Bulkhead({ maxConcurrent: 1 }),
    behaviour: hanging(100),
    check: async (_t, target) => {
      const first = target.run();
      expect(await codeOf(target.run())).toBe('RATE_LIMITED');
      await first;
    },
  },
  {
    name: 'rate limit → timeout: a refused call fails at once, not at the timeout',
    outer: RateLimit({ limit: 1, interval: 60_000 }),
    inner: Timeout(200),
    behaviour: hanging(10),
    check: async (_t, target) => {
      await target.run();
      const started = Date.now();
      expect(await codeOf(target.run())).toBe('RATE_LIMITED');
      expect(Date.now() - started).toBeLessThan(100);
      expect(target.calls).toBe(1);
    },
  },
  {
    name: 'rate limit → retry: the retries of one call take one token',
    outer: RateLimit({ limit: 1, interval: 60_000 }),
    inner: Retry({ attempts: 2, delay: 1, jitter: 'none' }),
    behaviour: failing,
    check: async (_t, target) => {
      expect(await codeOf(target.run())).toBe('down');
      expect(target.calls).toBe(3);
    },
  },
  {
    name: 'rate limit → breaker: a call the breaker rejects has used its token',
    outer: RateLimit({ limit: 1, interval: 60_000 }),
    inner: CircuitBreaker('order'),
    behaviour: hanging(1),
    check: async (t, target) => {
      await t.breaker('order').trip();
      expect(await codeOf(target.run())).toBe('BREAKER_OPEN');
      expect(await codeOf(target.run())).toBe('RATE_LIMITED');
    },
  },
  {
    name: 'bulkhead → timeout: time spent queued is not part of the timeout',
    outer: Bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeout: 2_000 }),
    inner: Timeout(250),
    behaviour: hanging(150),
    check: async (_t, target) => {
      expect(await Promise.all([codeOf(target.run()), codeOf(target.run())])).toEqual(['ok', 'ok']);
    },
  },
  {
    name: 'bulkhead → retry: the slot is held through the retry waits',
    outer: Bulkhead({ maxConcurrent: 1 }),
    inner: Retry({ attempts: 1, delay: 150, jitter: 'none' }),
    behaviour: failing,
    check: async (_t, target) => {
      const first = codeOf(target.run());
      await sleep(50);
      expect(await codeOf(target.run())).toBe('BULKHEAD_FULL');
      expect(await first).toBe('down');
    },
  },
  {
    name: 'bulkhead → breaker: a full bulkhead refuses before the breaker is asked',
    outer: Bulkhead({ maxConcurrent: 1 }),
    inner: CircuitBreaker('order'),
    behaviour: hanging(100),
    check: async (t, target) => {
      const first = target.run();
      await sleep(10);
      await t.breaker('order').trip();
      expect(await codeOf(target.run())).toBe('BULKHEAD_FULL');
      await first;
    },
  },
  {
    name: 'bulkhead → breaker: a slot is held while a method the breaker’s timeout failed runs on',
    outer: Bulkhead({ maxConcurrent: 1, maxQueue: 2, queueTimeout: 2_000 }),
    inner: CircuitBreaker('timed'),
    behaviour: async () => {
      // Ignores its signal: it runs on after the breaker's timeout failed its caller.
      running++;
      peak = Math.max(peak, running);
      await sleep(100);
      running--;
    },
    check: async (_t, target) => {
      const codes = await Promise.all([target.run(), target.run(), target.run()].map(codeOf));
      expect(codes).toEqual(['BREAKER_TIMEOUT', 'BREAKER_TIMEOUT', 'BREAKER_TIMEOUT']);
      expect(peak).toBe(1);
    },
  },
  {
    name: 'timeout → retry: the timeout bounds every attempt and wait together',
    outer: Timeout(200),
    inner: Retry({ attempts: 10, delay: 10, backoff: 'constant', jitter: 'none', budget: false }),
    behaviour: async () => {
      await sleep(40);
      throw new Error('down');
    },
    check: async (_t, target) => {
      expect(await codeOf(target.run())).toBe('TIMEOUT');
      expect(target.calls).toBeLessThan(6);
    },
  },
  {
    name: 'timeout → breaker: the attempt is still running in the breaker when the timeout fires',
    outer: Timeout(50),
    inner: CircuitBreaker('order'),
    behaviour: async () => {
      await sleep(200);
      return getCallSignal()?.aborted;
    },
    check: async (t, target) => {
      expect(await codeOf(target.run())).toBe('TIMEOUT');
      expect(t.breaker('order').inFlight).toBe(1);
    },
  },
  {
    name: 'retry → breaker: the breaker counts each attempt',
    outer: Retry({ attempts: 2, delay: 1, jitter: 'none' }),
    inner: CircuitBreaker('order'),
    behaviour: failing,
    check: async (t, target) => {
      expect(await codeOf(target.run())).toBe('down');
      expect(t.breaker('order').snapshot().failures).toBe(3);
    },
  },
];

describe('the one order of stacked decorators, whatever their order in the source', () => {
  afterEach(closeAllApps);

  describe.each(pairs)('$name', (pair) => {
    it.each([
      ['outer decorator on top', [pair.outer, pair.inner]],
      ['inner decorator on top', [pair.inner, pair.outer]],
    ])('%s', async (_order, decorators) => {
      const Subject = targetWith(decorators, pair.behaviour);
      const t = await createApp(
        { providers: [Subject] },
        {
          breakers: { order: { minimumCalls: 100 }, timed: { timeout: 20, minimumCalls: 100 } },
          shutdownTimeout: 1_000,
        },
      );
      await pair.check(t, t.app.get(Subject));
    });
  });
});

describe('bulkhead → retry → breaker with a timeout, a method that ignores its signal', () => {
  afterEach(closeAllApps);

  it.each<[string, MethodDecorator[], Behaviour]>([
    ['that never returns (no total timeout)', [], () => new Promise<void>(() => undefined)],
    ['that returns after the total timeout', [Timeout(100)], () => sleep(150)],
  ])(
    'ends the call with the breaker’s timeout and starts no attempt more, for a method %s',
    async (_, timeout, behaviour) => {
      const Subject = targetWith(
        [
          Bulkhead({ maxConcurrent: 1 }),
          Retry({ attempts: 3, delay: 10, jitter: 'none', budget: false }),
          ...timeout,
          CircuitBreaker('timed'),
        ],
        behaviour,
      );
      const t = await createApp(
        { providers: [Subject] },
        { breakers: { timed: { timeout: 20, minimumCalls: 100 } }, shutdownTimeout: 1 },
      );
      const target = t.app.get(Subject);

      expect(await codeOf(target.run())).toBe('BREAKER_TIMEOUT');
      await sleep(200);
      expect(target.calls).toBe(1);
    },
  );
});
