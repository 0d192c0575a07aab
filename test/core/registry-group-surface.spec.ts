import type { BreakerGroup } from '../../src/core/breaker-group';
import { BreakerRegistry } from '../../src/core/registry';
import { deferred, fail, fakeClock } from './breaker-test-kit';

/** A registry with a group that owns the names `http:*`, keeping at most `max`. */
function withGroup(max: number) {
  const registry = new BreakerRegistry({ clock: fakeClock(), breakers: { payments: {} } });
  const group = registry.defineGroup({
    owns: (name) => name.startsWith('http:'),
    max,
    base: { failureThreshold: 1 },
    conflictHint: 'another name',
  });
  const members = () =>
    registry
      .all()
      .map((breaker) => breaker.name)
      .filter((name) => name.startsWith('http:'))
      .sort();
  return { registry, group, members };
}

describe('BreakerRegistry.surface for a group’s members (a store brings in an origin it holds a state of)', () => {
  it('tells groupDefined listeners of each group defined', () => {
    const registry = new BreakerRegistry({ clock: fakeClock() });
    const defined: BreakerGroup[] = [];
    registry.on('groupDefined', (group) => defined.push(group));

    const group = registry.defineGroup({ owns: (name) => name.startsWith('x:'), max: 2, conflictHint: '-' });

    expect(defined).toEqual([group]);
  });

  it('creates the member a name refers to, as get() would, with the group’s options, and tells its listeners', () => {
    const { registry, group } = withGroup(2);
    const added: string[] = [];
    registry.on('added', (breaker) => added.push(breaker.name));

    const breaker = registry.surface('http:https://a.example');

    expect(added).toEqual(['http:https://a.example']);
    expect(breaker?.options.failureThreshold).toBe(1);
    expect(group.size).toBe(1);
    expect(registry.get('http:https://a.example')).toBe(breaker);
  });

  it('keeps the group’s max: a new member evicts the least recently used idle one, a closed one first', async () => {
    const { registry, members } = withGroup(2);
    await fail(registry.get('http:https://open.example'));
    registry.get('http:https://closed.example');
    const removed: string[] = [];
    registry.on('removed', (breaker) => removed.push(breaker.name));

    registry.surface('http:https://restored.example');

    expect(removed).toEqual(['http:https://closed.example']);
    expect(members()).toEqual(['http:https://open.example', 'http:https://restored.example']);
    // The registry counts it as a member still: the bound holds for the next member too.
    registry.get('http:https://next.example');
    expect(members()).toHaveLength(2);
  });

  it('creates none when every member has a call in flight', async () => {
    const { registry, members } = withGroup(1);
    const slow = deferred();
    const call = registry.get('http:https://busy.example').execute(() => slow.promise);

    expect(registry.surface('http:https://restored.example')).toBeUndefined();
    expect(members()).toEqual(['http:https://busy.example']);

    slow.resolve('ok');
    await call;
    expect(registry.surface('http:https://restored.example')).toBeDefined();
    expect(members()).toEqual(['http:https://restored.example']);
  });

  it('returns a kept member as it is, without making it the most recently used', () => {
    const { registry, members } = withGroup(2);
    const a = registry.get('http:https://a.example');
    registry.get('http:https://b.example');

    expect(registry.surface('http:https://a.example')).toBe(a);
    registry.get('http:https://c.example');

    expect(members()).toEqual(['http:https://b.example', 'http:https://c.example']);
  });

  it('creates no breaker of a name no group owns, configured or not', () => {
    const { registry } = withGroup(2);

    expect(registry.surface('payments')).toBe(undefined);
    expect(registry.surface('unconfigured')).toBe(undefined);
    expect(registry.all().map((breaker) => breaker.name)).toEqual(['payments']);
  });
});
