import type { AuditEntry } from '../../src/core/audit-log';
import { MemoryAuditLog } from '../../src/core/audit-log';
import { Breaker } from '../../src/core/breaker';
import { BreakerRegistry, type BreakerRegistryOptions } from '../../src/core/registry';
import { T0, deferred, fail, fakeClock, rejectionOf, succeed } from './breaker-test-kit';

function registryOn(options: Omit<BreakerRegistryOptions, 'clock'> = {}) {
  const clock = fakeClock();
  return { registry: new BreakerRegistry({ ...options, clock }), clock };
}

const names = (breakers: Breaker[]) => breakers.map((b) => b.name);

describe('BreakerRegistry', () => {
  describe('perKeyOptions', () => {
    it('gives the options a per-key breaker of a name gets, without creating a breaker', () => {
      const { registry } = registryOn({
        defaults: { timeout: 5_000, failureThreshold: 3 },
        breakers: { hosts: { timeout: 800 } },
      });
      const before = names(registry.all());

      expect(registry.perKeyOptions('hosts')).toMatchObject({ timeout: 800, failureThreshold: 3 });
      expect(registry.perKeyOptions('tenants')).toMatchObject({ timeout: 5_000 });
      expect(registry.perKeyOptions('hosts')).toEqual(registry.get('hosts', 'a.example').options);
      expect(names(registry.all())).toEqual([...before, 'hosts#a.example']);
    });

    it('refuses a name no breaker can have', () => {
      const { registry } = registryOn();

      expect(() => registry.perKeyOptions('a#b')).toThrow(
        expect.objectContaining({ code: 'INVALID_BREAKER_OPTIONS' }),
      );
    });
  });

  describe('configured breakers', () => {
    it('exist as soon as the registry is built', () => {
      const { registry } = registryOn({ breakers: { payments: {}, llm: { preset: 'llm' } } });

      expect(registry.has('payments')).toBe(true);
      expect(registry.has('llm')).toBe(true);
      expect(names(registry.all())).toEqual(['payments', 'llm']);
    });

    it('get their own options over defaults over their preset', () => {
      const { registry } = registryOn({
        defaults: { timeout: 5_000, openDuration: 10_000, critical: true },
        breakers: { llm: { preset: 'llm', openDuration: 20_000 } },
      });

      expect(registry.get('llm').options).toMatchObject({
        preset: 'llm',
        failureThreshold: 3,
        timeout: 5_000,
        openDuration: 20_000,
        critical: true,
      });
    });

    it('run on the registry clock', async () => {
      const { registry, clock } = registryOn({
        breakers: { payments: { failureThreshold: 1, openDuration: 1_000 } },
      });
      const breaker = registry.get('payments');
      await fail(breaker);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: T0 });

      clock.advance(1_000);

      expect(breaker.state).toBe('half_open');
    });
  });

  describe('get()', () => {
    it('returns the same breaker for the same name', () => {
      const { registry } = registryOn({ breakers: { payments: {} } });

      expect(registry.get('payments')).toBe(registry.get('payments'));
    });

    it('creates an unknown name from defaults', () => {
      const { registry } = registryOn({ defaults: { failureThreshold: 2, preset: 'cache' } });

      const breaker = registry.get('sessions');

      expect(breaker.name).toBe('sessions');
      expect(breaker.options).toMatchObject({ failureThreshold: 2, timeout: 20_000, preset: 'cache' });
      expect(registry.has('sessions')).toBe(true);
    });

    it('creates a breaker whose name is also an Object.prototype member from defaults', () => {
      const { registry } = registryOn({ defaults: { failureThreshold: 2 } });

      expect(registry.get('constructor').options.failureThreshold).toBe(2);
      expect(registry.get('toString').options.failureThreshold).toBe(2);
    });

    it('creates per-key breakers named name#key with the options of name', () => {
      const { registry } = registryOn({ breakers: { llm: { preset: 'llm', failureThreshold: 1 } } });

      const tenantA = registry.get('llm', 'tenant-a');

      expect(tenantA.name).toBe('llm#tenant-a');
      expect(tenantA.options).toMatchObject({ preset: 'llm', failureThreshold: 1, timeout: 120_000 });
      expect(registry.get('llm', 'tenant-a')).toBe(tenantA);
      expect(registry.has('llm', 'tenant-a')).toBe(true);
      expect(registry.has('llm', 'tenant-b')).toBe(false);
    });

    it('keeps per-key breakers apart from each other and from the named one', async () => {
      const { registry } = registryOn({ breakers: { llm: { failureThreshold: 1 } } });

      await fail(registry.get('llm', 'tenant-a'));

      expect(registry.get('llm', 'tenant-a').state).toBe('open');
      expect(registry.get('llm', 'tenant-b').state).toBe('closed');
      expect(registry.get('llm').state).toBe('closed');
    });
  });

  describe('maxKeysPerBreaker', () => {
    it('evicts the least recently used per-key breaker beyond the bound', () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 2 });
      const removed: string[] = [];
      registry.on('removed', (b) => removed.push(b.name));
      registry.get('api', 'a');
      registry.get('api', 'b');
      registry.get('api', 'a');

      registry.get('api', 'c');

      expect(removed).toEqual(['api#b']);
      expect(registry.has('api', 'a')).toBe(true);
      expect(registry.has('api', 'b')).toBe(false);
      expect(registry.has('api', 'c')).toBe(true);
    });

    it('never evicts the breaker just added', () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 1 });
      registry.get('api', 'a');

      const b = registry.get('api', 'b');

      expect(registry.has('api', 'b')).toBe(true);
      expect(registry.has('api', 'a')).toBe(false);
      expect(registry.get('api', 'b')).toBe(b);
    });

    it('skips breakers with a call in flight', async () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 2 });
      const slow = deferred();
      const call = registry.get('api', 'a').execute(() => slow.promise);
      registry.get('api', 'b');

      registry.get('api', 'c');

      expect(registry.has('api', 'a')).toBe(true);
      expect(registry.has('api', 'b')).toBe(false);
      slow.resolve('ok');
      await call;
    });

    it('evicts a closed breaker before an older open one', async () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 2, defaults: { failureThreshold: 1 } });
      await fail(registry.get('api', 'a'));
      registry.get('api', 'b');

      registry.get('api', 'c');

      expect(registry.has('api', 'a')).toBe(true);
      expect(registry.has('api', 'b')).toBe(false);
    });

    it('evicts the least recently used open breaker when none is closed', async () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 2, defaults: { failureThreshold: 1 } });
      await fail(registry.get('api', 'a'));
      await fail(registry.get('api', 'b'));

      registry.get('api', 'c');

      expect(registry.has('api', 'a')).toBe(false);
      expect(registry.has('api', 'b')).toBe(true);
    });

    it('stays over the bound rather than evict a breaker with a call in flight', async () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 1 });
      const slow = deferred();
      const call = registry.get('api', 'a').execute(() => slow.promise);

      registry.get('api', 'b');

      expect(registry.has('api', 'a')).toBe(true);
      expect(registry.has('api', 'b')).toBe(true);
      slow.resolve('ok');
      await call;
    });

    it('bounds each name separately and never touches named breakers', () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 1, breakers: { api: {} } });
      registry.get('api', 'a');
      registry.get('db', 'a');

      expect(names(registry.all()).sort()).toEqual(['api', 'api#a', 'db#a']);
    });

    it('finds the breaker to evict in O(1): it looks at a few kept breakers, not at every one, when none is closed', async () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 1_000, defaults: { failureThreshold: 1 } });
      for (let i = 0; i < 1_000; i++) await fail(registry.get('api', `open-${i}`));
      const looked = jest.spyOn(Breaker.prototype, 'inFlight', 'get');
      const read = jest.spyOn(Breaker.prototype, 'state', 'get');

      for (let i = 0; i < 100; i++) registry.get('api', `new-${i}`);

      expect(looked.mock.calls.length + read.mock.calls.length).toBeLessThan(100 * 5);
      expect(registry.has('api', 'open-0')).toBe(false);
      expect(registry.has('api', 'open-1')).toBe(true);
      expect(registry.has('api', 'new-98')).toBe(false);
      expect(registry.has('api', 'new-99')).toBe(true);
      expect(registry.all()).toHaveLength(1_000);
      looked.mockRestore();
      read.mockRestore();
    });

    it('skips a busy breaker in O(1) too, when every kept one has a call in flight', () => {
      const { registry } = registryOn({ maxKeysPerBreaker: 1_000 });
      const hung = deferred();
      for (let i = 0; i < 1_000; i++) void registry.get('api', `busy-${i}`).execute(() => hung.promise);
      const looked = jest.spyOn(Breaker.prototype, 'inFlight', 'get');

      registry.get('api', 'new');

      expect(looked.mock.calls.length).toBeLessThan(50);
      expect(registry.all()).toHaveLength(1_001);
      looked.mockRestore();
      hung.resolve('ok');
    });

    it('defaults to 1,000 keys per name', () => {
      const { registry } = registryOn();
      for (let i = 0; i <= 1_000; i++) registry.get('api', `k${i}`);

      expect(registry.has('api', 'k0')).toBe(false);
      expect(registry.has('api', 'k1')).toBe(true);
      expect(registry.all()).toHaveLength(1_000);
    });
  });

  describe('added / removed events', () => {
    it("emits 'added' for every breaker created after construction", () => {
      const { registry } = registryOn({ breakers: { payments: {} } });
      const added: string[] = [];
      registry.on('added', (b) => added.push(b.name));

      registry.get('payments');
      registry.get('llm');
      registry.get('llm', 'tenant-a');

      expect(added).toEqual(['llm', 'llm#tenant-a']);
    });

    it("emits 'removed' on remove() and stops when unsubscribed", () => {
      const { registry } = registryOn({ breakers: { payments: {}, llm: {} } });
      const removed: string[] = [];
      const off = registry.on('removed', (b) => removed.push(b.name));

      registry.remove('payments');
      off();
      registry.remove('llm');

      expect(removed).toEqual(['payments']);
    });
  });

  describe('remove()', () => {
    it('forgets a named or per-key breaker and says whether there was one', () => {
      const { registry } = registryOn({ breakers: { payments: {} } });
      registry.get('llm', 'tenant-a');

      expect(registry.remove('payments')).toBe(true);
      expect(registry.remove('payments')).toBe(false);
      expect(registry.remove('llm', 'tenant-a')).toBe(true);
      expect(registry.remove('llm', 'tenant-b')).toBe(false);
      expect(registry.remove('nope', 'x')).toBe(false);
      expect(registry.all()).toEqual([]);
    });

    it('creates a fresh breaker on the next get()', async () => {
      const { registry } = registryOn({ breakers: { payments: { failureThreshold: 1 } } });
      const old = registry.get('payments');
      await fail(old);

      registry.remove('payments');
      const fresh = registry.get('payments');

      expect(fresh).not.toBe(old);
      expect(fresh.snapshot()).toMatchObject({ state: 'closed', tripCount: 0 });
      expect(fresh.options.failureThreshold).toBe(1);
    });
  });

  describe('audit()', () => {
    it('records automatic transitions and manual actions, newest first', async () => {
      const { registry, clock } = registryOn({
        breakers: { payments: { failureThreshold: 1, openDuration: 1_000, resetCooldown: 0 } },
      });
      const payments = registry.get('payments');
      await fail(payments);
      clock.advance(1_000);
      await succeed(payments);
      clock.advance(1);
      await payments.trip('maintenance', 'alice');
      await payments.trip('still maintenance', 'alice');
      await payments.reset({ reason: 'done', actor: 'bob' });

      const entries = await registry.audit();

      expect(entries).toEqual<AuditEntry[]>([
        {
          breaker: 'payments',
          action: 'reset',
          from: 'forced_open',
          to: 'closed',
          reason: 'done',
          actor: 'bob',
          at: T0 + 1_001,
        },
        {
          breaker: 'payments',
          action: 'trip',
          from: 'forced_open',
          to: 'forced_open',
          reason: 'still maintenance',
          actor: 'alice',
          at: T0 + 1_001,
        },
        {
          breaker: 'payments',
          action: 'trip',
          from: 'closed',
          to: 'forced_open',
          reason: 'maintenance',
          actor: 'alice',
          at: T0 + 1_001,
        },
        {
          breaker: 'payments',
          action: 'transition',
          from: 'half_open',
          to: 'closed',
          reason: 'trials_succeeded',
          actor: null,
          at: T0 + 1_000,
        },
        {
          breaker: 'payments',
          action: 'transition',
          from: 'open',
          to: 'half_open',
          reason: 'open_duration_elapsed',
          actor: null,
          at: T0 + 1_000,
        },
        {
          breaker: 'payments',
          action: 'transition',
          from: 'closed',
          to: 'open',
          reason: 'failure_threshold',
          actor: null,
          at: T0,
        },
      ]);
    });

    it('filters by breaker name and limits the number of entries', async () => {
      const { registry } = registryOn({ breakers: { payments: {}, llm: {} } });
      await registry.get('payments').trip('one');
      await registry.get('llm').trip('two');
      await registry.get('payments').disable('three');

      expect((await registry.audit('payments')).map((e) => e.reason)).toEqual(['three', 'one']);
      expect((await registry.audit(undefined, { limit: 2 })).map((e) => e.reason)).toEqual(['three', 'two']);
      expect((await registry.audit('payments', { limit: 1 })).map((e) => e.reason)).toEqual(['three']);
    });

    it('returns at most 100 entries by default', async () => {
      const { registry } = registryOn({ breakers: { payments: {} } });
      for (let i = 0; i < 150; i++) await registry.get('payments').disable(`d${i}`);

      const entries = await registry.audit();

      expect(entries).toHaveLength(100);
      expect(entries[0].reason).toBe('d149');
    });

    it('records per-key breakers under their full name', async () => {
      const { registry } = registryOn();
      await registry.get('llm', 'tenant-a').trip();

      expect(await registry.audit('llm#tenant-a')).toEqual([
        expect.objectContaining({ breaker: 'llm#tenant-a', action: 'trip' }),
      ]);
    });

    it("keeps an operator's action and the named breakers' transitions findable whatever per-key traffic does", async () => {
      const { registry } = registryOn({ breakers: { payments: { failureThreshold: 1 } } });
      await registry.get('payments').trip('incident 7', 'alice');
      await registry.get('payments').reset({ force: true, actor: 'alice' });
      await fail(registry.get('payments'));

      for (let i = 0; i < 5_000; i++) await fail(registry.get('payments', `fresh-${i}`));

      expect((await registry.audit('payments')).map((e) => `${e.action} ${e.actor}`)).toEqual([
        'transition null',
        'reset alice',
        'trip alice',
      ]);
      const newest = await registry.audit(undefined, { limit: 3 });
      expect(newest.map((e) => e.breaker)).toEqual([
        'payments#fresh-4999',
        'payments#fresh-4998',
        'payments#fresh-4997',
      ]);
    });

    it('stops recording a breaker once it was removed', async () => {
      const { registry } = registryOn({ breakers: { payments: {} } });
      const payments = registry.get('payments');
      registry.remove('payments');

      await payments.trip();

      expect(await registry.audit()).toEqual([]);
    });

    it('writes to the audit log it was given', async () => {
      const auditLog = new MemoryAuditLog(10);
      const { registry } = registryOn({ auditLog, breakers: { payments: {} } });

      await registry.get('payments').trip('x');

      expect(auditLog.list()).toEqual([
        expect.objectContaining({ breaker: 'payments', action: 'trip', reason: 'x' }),
      ]);
    });
  });

  describe('MemoryAuditLog', () => {
    it('keeps the newest entries up to its capacity', () => {
      const log = new MemoryAuditLog(3);
      const entry = (n: number): AuditEntry => ({
        breaker: 'b',
        action: 'trip',
        from: 'closed',
        to: 'forced_open',
        reason: `r${n}`,
        actor: null,
        at: n,
      });
      for (let n = 1; n <= 5; n++) log.append(entry(n));

      expect(log.list().map((e) => e.reason)).toEqual(['r5', 'r4', 'r3']);
    });

    it('keeps up to its capacity of each kind: manual actions, named transitions, per-key transitions, listed newest first', () => {
      const log = new MemoryAuditLog(2);
      const entry = (breaker: string, action: AuditEntry['action'], at: number): AuditEntry => ({
        breaker,
        action,
        from: 'closed',
        to: 'open',
        reason: `${breaker} ${action} ${at}`,
        actor: null,
        at,
      });
      log.append(entry('b', 'trip', 1));
      log.append(entry('b', 'transition', 2));
      for (let at = 3; at <= 9; at++) log.append(entry('b#k', 'transition', at));
      log.append(entry('b', 'reset', 10));

      expect(log.list().map((e) => e.reason)).toEqual([
        'b reset 10',
        'b#k transition 9',
        'b#k transition 8',
        'b transition 2',
        'b trip 1',
      ]);
      expect(log.list('b', 2).map((e) => e.reason)).toEqual(['b reset 10', 'b transition 2']);
    });
  });

  it('passes calls through like a plain breaker', async () => {
    const { registry } = registryOn({ breakers: { payments: { failureThreshold: 1 } } });
    await fail(registry.get('payments'));

    expect(await rejectionOf(registry.get('payments').execute(() => 'ok'))).toMatchObject({
      code: 'BREAKER_OPEN',
    });
  });
});
