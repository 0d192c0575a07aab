import { BreakerRegistry, type BreakerRegistryOptions } from '../../src/core/registry';
import { MAX_KEY_LENGTH } from '../../src/core/breaker-key';
import { deferred, fail, fakeClock } from './breaker-test-kit';

function registryOn(options: Omit<BreakerRegistryOptions, 'clock'> = {}) {
  return new BreakerRegistry({ ...options, clock: fakeClock() });
}

const keys = (registry: BreakerRegistry) =>
  registry
    .all()
    .filter((breaker) => breaker.perKey !== undefined)
    .map((breaker) => breaker.name)
    .sort();

describe('BreakerRegistry.surface (a store brings in a per-key breaker it holds a state of)', () => {
  it('creates the per-key breaker a full name refers to, as get() would, and tells its listeners', () => {
    const registry = registryOn({ breakers: { hosts: { timeout: 800 } } });
    const added: string[] = [];
    registry.on('added', (breaker) => added.push(breaker.name));

    const breaker = registry.surface('hosts#a.example');

    expect(added).toEqual(['hosts#a.example']);
    expect(breaker?.perKey).toEqual({ name: 'hosts', key: 'a.example' });
    expect(breaker?.options).toEqual(registry.perKeyOptions('hosts'));
    expect(registry.get('hosts', 'a.example')).toBe(breaker);
  });

  it('returns a kept breaker as it is, without making it the most recently used', () => {
    const registry = registryOn({ maxKeysPerBreaker: 2 });
    const a = registry.get('hosts', 'a');
    registry.get('hosts', 'b');

    expect(registry.surface('hosts#a')).toBe(a);
    registry.get('hosts', 'c');

    expect(keys(registry)).toEqual(['hosts#b', 'hosts#c']);
  });

  it('keeps maxKeysPerBreaker: a new breaker evicts the least recently used idle one, a closed one first', async () => {
    const registry = registryOn({ maxKeysPerBreaker: 2, defaults: { failureThreshold: 1 } });
    await fail(registry.get('hosts', 'open'));
    registry.get('hosts', 'closed');
    const removed: string[] = [];
    registry.on('removed', (breaker) => removed.push(breaker.name));

    registry.surface('hosts#fleet-open');

    expect(removed).toEqual(['hosts#closed']);
    expect(keys(registry)).toEqual(['hosts#fleet-open', 'hosts#open']);
  });

  it('creates none when every kept breaker of the name has a call in flight: never beyond the bound, never a busy one evicted', async () => {
    const registry = registryOn({ maxKeysPerBreaker: 2 });
    const slow = deferred();
    const calls = ['a', 'b'].map((key) => registry.get('hosts', key).execute(() => slow.promise));

    expect(registry.surface('hosts#c')).toBeUndefined();
    expect(keys(registry)).toEqual(['hosts#a', 'hosts#b']);

    slow.resolve('ok');
    await Promise.all(calls);
    expect(registry.surface('hosts#c')).toBeDefined();
    expect(keys(registry)).toHaveLength(2);
  });

  it('creates nothing under a name the app does not declare per-key, and keeps nothing of it', () => {
    const registry = registryOn({ breakers: { payments: {} } });

    expect(registry.surface('legacyTenants#t1')).toBeUndefined();

    expect(registry.declaresPerKey('legacyTenants')).toBe(false);
    expect(registry.all().map((breaker) => breaker.name)).toEqual(['payments']);
  });

  it('takes a name declared per-key by configuration, by perKeyOptions() (the explorer) or by a per-key get(), telling perKeyDeclared listeners once', () => {
    const registry = registryOn({ breakers: { hosts: {} } });
    const declared: string[] = [];
    registry.on('perKeyDeclared', (name) => declared.push(name));

    registry.perKeyOptions('tenants');
    registry.perKeyOptions('tenants');
    registry.get('regions', 'eu');
    registry.get('payments');

    expect(declared).toEqual(['tenants', 'regions']);
    for (const fullName of ['hosts#a', 'tenants#t1', 'regions#us'])
      expect(registry.surface(fullName)).toBeDefined();
    expect(registry.declaresPerKey('payments')).toBe(false);
  });

  it('gives a per-key get() the breaker a perKeyDeclared listener brought back for its key', () => {
    const registry = registryOn();
    registry.on('perKeyDeclared', (name) => registry.surface(`${name}#t1`));

    const breaker = registry.get('tenants', 't1');

    expect(registry.all()).toEqual([breaker]);
  });

  it('creates nothing for a full name no per-key breaker can have', () => {
    const registry = registryOn({ breakers: { payments: {} } });

    for (const fullName of [
      'payments',
      'unconfigured',
      '#key',
      'a\u0007b#key',
      `hosts#${'x'.repeat(MAX_KEY_LENGTH + 1)}`,
    ])
      expect(registry.surface(fullName)).toBeUndefined();
    expect(registry.all().map((breaker) => breaker.name)).toEqual(['payments']);
  });
});

describe('BreakerRegistry.optionsOf (options read at start-up)', () => {
  it('resolves options over the defaults without creating a breaker or declaring the name per-key', () => {
    const registry = registryOn({
      defaults: { timeout: 500 },
      breakers: { 'Base.fetch': { failureThreshold: 2 } },
    });
    const declared: string[] = [];
    registry.on('perKeyDeclared', (name) => declared.push(name));

    expect(registry.optionsOf('Base.fetch')).toMatchObject({ timeout: 500, failureThreshold: 2 });
    expect(registry.optionsOf('Client.fetch')).toMatchObject({ timeout: 500, failureThreshold: 5 });

    expect(registry.has('Client.fetch')).toBe(false);
    expect(registry.declaresPerKey('Client.fetch')).toBe(false);
    expect(declared).toEqual([]);
  });
});
