import { Breaker } from '../../src/core/breaker';
import { MAX_KEY_LENGTH } from '../../src/core/breaker-key';
import { isResilienceError } from '../../src/core/errors';
import { BreakerRegistry, type BreakerRegistryOptions } from '../../src/core/registry';
import { fail, fakeClock } from './breaker-test-kit';

function registryWith(options: Omit<BreakerRegistryOptions, 'clock'> = {}): BreakerRegistry {
  return new BreakerRegistry({ ...options, clock: fakeClock() });
}

/** Whether `text` holds a character a terminal would act on. */
// eslint-disable-next-line no-control-regex -- it looks for control characters
const hasControlCharacters = (text: string) => /[\u0000-\u001f\u007f-\u009f]/.test(text);

const thrown = (act: () => unknown): unknown => {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
};

describe('Per-key breakers and their names', () => {
  describe('a key never reaches another breaker', () => {
    it('keeps the per-key breaker "internal" of hosts apart from a configured hosts:internal', async () => {
      const registry = registryWith({
        defaults: { failureThreshold: 1 },
        breakers: { hosts: {}, 'hosts:internal': { critical: true } },
      });
      const configured = registry.get('hosts:internal');

      const keyed = registry.get('hosts', 'internal');
      await fail(keyed);

      expect(keyed).not.toBe(configured);
      expect(keyed.name).toBe('hosts#internal');
      expect(keyed.state).toBe('open');
      expect(configured.state).toBe('closed');
      expect(registry.get('hosts:internal')).toBe(configured);
      expect(registry.all().map((b) => b.name)).toEqual(['hosts', 'hosts:internal', 'hosts#internal']);
    });

    it('gives a key that is the name of a configured breaker its own per-key breaker', async () => {
      const registry = registryWith({ defaults: { failureThreshold: 1 }, breakers: { payments: {} } });

      await fail(registry.get('payments', 'payments'));

      expect(registry.get('payments').state).toBe('closed');
      expect(registry.get('payments', 'payments').name).toBe('payments#payments');
    });

    it('refuses a breaker name holding "#", which only per-key breakers carry', () => {
      const registry = registryWith();

      expect(thrown(() => registry.get('hosts#internal'))).toMatchObject({
        code: 'INVALID_BREAKER_OPTIONS',
        key: 'name',
      });
      expect(() => registryWith({ breakers: { 'a#b': {} } })).toThrow(/"#"/);
      expect(() => registry.get('api#', 'k')).toThrow(/"#"/);
      expect(registry.all()).toEqual([]);
    });

    it('refuses a breaker name holding a control character', () => {
      expect(() => registryWith().get('pay\u001b[2Jments')).toThrow(/control characters/);
      expect(() => registryWith().get('pay\nments')).toThrow(/control characters/);
    });

    it('keeps keys that are Object.prototype members apart, and leaves Object.prototype alone', () => {
      const registry = registryWith();

      const proto = registry.get('hosts', '__proto__');
      const ctor = registry.get('hosts', 'constructor');

      expect(proto).toBeInstanceOf(Breaker);
      expect(proto).not.toBe(ctor);
      expect(registry.get('hosts', '__proto__')).toBe(proto);
      expect(proto.name).toBe('hosts#__proto__');
      expect(Object.prototype).not.toHaveProperty('state');
    });

    it('never gives a breaker the same full name as another, however the key is made', () => {
      const registry = registryWith({ breakers: { a: {}, 'a:b': {} } });
      const keys = ['b', 'b#c', '#', '', ' ', '\\', '\\\\', '\\u0023', '\u0000', 'x\ny', 'x\\ny', ':b'];

      for (const key of keys) registry.get('a', key);
      const all = registry.all().map((b) => b.name);

      expect(new Set(all).size).toBe(all.length);
      expect(all).toHaveLength(2 + keys.length);
    });
  });

  describe('keys that are not strings', () => {
    it('treats a number as its decimal string: 5 and "5" are one breaker', () => {
      const registry = registryWith();

      const five = registry.get('hosts', 5);

      expect(registry.get('hosts', '5')).toBe(five);
      expect(registry.get('hosts', 5n)).toBe(five);
      expect(five.name).toBe('hosts#5');
      expect(registry.all()).toHaveLength(1);
      expect(registry.has('hosts', 5)).toBe(true);
      expect(registry.remove('hosts', '5')).toBe(true);
      expect(registry.has('hosts', 5)).toBe(false);
    });

    it.each([
      ['null', null],
      ['an object', { id: 1 }],
      ['a boolean', true],
      ['a symbol', Symbol('k')],
      ['a function', () => 'k'],
    ])('refuses %s as a key with InvalidBreakerKeyError, creating nothing', (_, key) => {
      const registry = registryWith({ breakers: { hosts: {} } });

      const error = thrown(() => registry.get('hosts', key as never));

      expect(isResilienceError(error, 'INVALID_BREAKER_KEY')).toBe(true);
      expect(error).toMatchObject({ breaker: 'hosts', value: key });
      expect((error as Error).message).toMatch(
        /^Invalid key for circuit breaker "hosts": .*; expected a string or a number/,
      );
      expect(registry.has('hosts', key as never)).toBe(false);
      expect(registry.all().map((b) => b.name)).toEqual(['hosts']);
    });
  });

  describe('long keys', () => {
    it(`accepts a key of ${MAX_KEY_LENGTH} characters and refuses a longer one with a short message`, () => {
      const registry = registryWith();
      const longest = 'k'.repeat(MAX_KEY_LENGTH);

      expect(registry.get('hosts', longest).perKey).toEqual({ name: 'hosts', key: longest });
      const error = thrown(() => registry.get('hosts', 'k'.repeat(1_000_000)));

      expect(error).toMatchObject({ code: 'INVALID_BREAKER_KEY', breaker: 'hosts' });
      expect((error as Error).message).toBe(
        `Invalid key for circuit breaker "hosts": a string of 1000000 characters; ` +
          `expected a string or a number, at most ${MAX_KEY_LENGTH} characters long`,
      );
      expect(registry.all()).toHaveLength(1);
    });
  });

  describe('control characters in keys', () => {
    it('keeps them in the key, and escapes them in the full name', () => {
      const registry = registryWith();
      const key = 'evil\u001b[2J\r\nhosts#x\u009b\u202e\\';

      const breaker = registry.get('hosts', key);

      expect(breaker.perKey).toEqual({ name: 'hosts', key });
      expect(breaker.name).toBe('hosts#evil\\u001b[2J\\r\\nhosts#x\\u009b\\u202e\\\\');
      expect(hasControlCharacters(breaker.name)).toBe(false);
      expect(registry.get('hosts', key)).toBe(breaker);
    });

    it('tells apart a key with a control character from one holding its escape as text', () => {
      const registry = registryWith();

      const raw = registry.get('hosts', 'a\u001bb');
      const text = registry.get('hosts', 'a\\u001bb');

      expect(raw).not.toBe(text);
      expect(raw.name).not.toBe(text.name);
    });
  });

  describe('find()', () => {
    it('finds a breaker by the full name all() lists, never creating one', () => {
      const registry = registryWith({ breakers: { 'hosts:internal': {} } });
      const keys = ['internal', 'a\u001bb', '#', '\\', '__proto__', ''];
      for (const key of keys) registry.get('hosts', key);

      for (const breaker of registry.all()) expect(registry.find(breaker.name)).toBe(breaker);
      expect(registry.find('hosts:internal')).toBe(registry.get('hosts:internal'));
      expect(registry.find('hosts#internal')).toBe(registry.get('hosts', 'internal'));
      for (const missing of ['hosts', 'hosts#other', 'nope', 'hosts#a\\', 'hosts#\\x', '#k', '']) {
        expect(registry.find(missing)).toBeUndefined();
      }
      expect(registry.all()).toHaveLength(1 + keys.length);
    });
  });

  describe('maxBreakers', () => {
    it('refuses a new name beyond it with TooManyBreakersError, counting configured ones', () => {
      const registry = registryWith({ maxBreakers: 3, breakers: { payments: {}, llm: {} } });
      registry.get('search');

      const error = thrown(() => registry.get('/users/42'));

      expect(isResilienceError(error, 'TOO_MANY_BREAKERS')).toBe(true);
      expect(error).toMatchObject({ breaker: '/users/42', limit: 3 });
      expect((error as Error).message).toMatch(/never from request input: use a per-key breaker/);
      expect(registry.has('/users/42')).toBe(false);
      expect(registry.get('search')).toBe(registry.get('search'));
    });

    it('leaves per-key breakers out of the count, and frees a place when a name is removed', () => {
      const registry = registryWith({ maxBreakers: 1 });
      registry.get('payments');
      for (let i = 0; i < 10; i++) registry.get('hosts', `h${i}`);

      registry.remove('payments');

      expect(registry.get('llm').name).toBe('llm');
    });

    it('defaults to 10,000 named breakers', () => {
      const registry = registryWith();
      for (let i = 0; i < 10_000; i++) registry.get(`b${i}`);

      expect(() => registry.get('one-more')).toThrow(/maxBreakers \(10000\)/);
    });

    it('is an integer >= 1', () => {
      expect(() => registryWith({ maxBreakers: 0 })).toThrow(/maxBreakers = 0; expected an integer >= 1/);
    });
  });
});
