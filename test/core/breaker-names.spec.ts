/**
 * A breaker's name is a step of its admin API path (`<admin>/breakers/<name>`), by which the
 * admin API and the CLI reach it. A URL reads "." and ".." (written `%2E` too) as steps in its
 * path, so a breaker of either name could never be shown, tripped or reset: the registry
 * refuses them, whether configured, asked for at run time or as the name of per-key breakers.
 * A key is never a whole path step (`hosts#..`), so any key stays.
 */
import { InvalidBreakerOptionsError, InvalidBreakerKeyError } from '../../src/core/errors';
import { BreakerRegistry, type BreakerRegistryOptions } from '../../src/core/registry';
import { fakeClock } from './breaker-test-kit';

function registryWith(options: Omit<BreakerRegistryOptions, 'clock'> = {}): BreakerRegistry {
  return new BreakerRegistry({ ...options, clock: fakeClock() });
}

const thrown = (act: () => unknown): unknown => {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
};

const EXPECTED =
  'a name other than "." and "..": a URL reads them as steps in its path (even written %2E), ' +
  'so the admin API and the CLI could never reach the breaker';

describe('Breaker names a URL cannot hold', () => {
  it.each(['.', '..'])('refuses %p as a configured breaker, naming it and what is expected', (name) => {
    const error = thrown(() => registryWith({ breakers: { payments: {}, [name]: {} } }));

    expect(error).toBeInstanceOf(InvalidBreakerOptionsError);
    expect(error).toMatchObject({ code: 'INVALID_BREAKER_OPTIONS', breaker: name, key: 'name', value: name });
    expect((error as Error).message).toBe(
      `Invalid option for circuit breaker "${name}": name = "${name}"; expected ${EXPECTED}`,
    );
  });

  it.each(['.', '..'])('refuses %p asked for at run time, creating nothing', (name) => {
    const registry = registryWith({ breakers: { payments: {} } });

    expect(thrown(() => registry.get(name))).toMatchObject({
      code: 'INVALID_BREAKER_OPTIONS',
      breaker: name,
    });
    expect(thrown(() => registry.get(name, 'tenant-a'))).toMatchObject({ code: 'INVALID_BREAKER_OPTIONS' });
    expect(thrown(() => registry.perKeyOptions(name))).toMatchObject({ code: 'INVALID_BREAKER_OPTIONS' });
    expect(registry.all().map((b) => b.name)).toEqual(['payments']);
  });

  it('still says every rule of a name when it breaks another one', () => {
    expect((thrown(() => registryWith().get('')) as InvalidBreakerOptionsError).expected).toBe(
      'a non-empty string other than "." and "..", without "#" (it marks per-key breakers: name#key) ' +
        'or control characters',
    );
  });

  it('finds, surfaces and removes nothing under such a name, and never throws for one', () => {
    const registry = registryWith();

    expect(registry.find('.')).toBeUndefined();
    expect(registry.find('..#k')).toBeUndefined();
    expect(registry.surface('..#k')).toBeUndefined();
    expect(registry.has('..')).toBe(false);
    expect(registry.remove('.')).toBe(false);
    expect(registry.all()).toEqual([]);
  });

  it('keeps names that only hold dots, and paths, which a URL carries encoded', () => {
    const names = ['...', '.hidden', 'v1.2', 'api.', 'a/b', '/', '../x', '%2E', ' .'];
    const registry = registryWith({ breakers: Object.fromEntries(names.map((n) => [n, {}])) });

    expect(registry.all().map((b) => b.name)).toEqual(names);
    for (const name of names) expect(registry.find(name)?.name).toBe(name);
  });

  it('keeps "." and ".." as keys: a per-key breaker is "name#key", never a path step of its own', () => {
    const registry = registryWith();

    const dot = registry.get('hosts', '.');
    const dots = registry.get('hosts', '..');

    expect([dot.name, dots.name]).toEqual(['hosts#.', 'hosts#..']);
    expect(registry.find('hosts#..')).toBe(dots);
    expect(registry.surface('hosts#.')).toBe(dot);
  });

  it('still refuses a bad key (from a request) with InvalidBreakerKeyError, not as a bad name', () => {
    const registry = registryWith();

    expect(thrown(() => registry.get('hosts', ['..'] as never))).toBeInstanceOf(InvalidBreakerKeyError);
    expect(thrown(() => registry.get('hosts', '.'.repeat(257)))).toBeInstanceOf(InvalidBreakerKeyError);
    expect(registry.all()).toEqual([]);
  });
});
