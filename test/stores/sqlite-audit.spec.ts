import type { AuditEntry } from '../../src/core/audit-log';
import {
  FakeClock,
  SQLITE_TEST_DRIVERS,
  failing,
  succeeding,
  useSqliteFile,
} from '../support/sqlite-fixture';

describe.each(SQLITE_TEST_DRIVERS)('SqliteStore audit log on %s', (driver) => {
  const clock = new FakeClock();
  const file = useSqliteFile(clock, driver);
  const breakers = {
    payments: { failureThreshold: 2, openDuration: 10_000, resetCooldown: 60_000 },
    llm: {},
  };

  /** Opens payments by failures, lets it recover, then an operator trips, resets and disables it. */
  async function runIncident(): Promise<AuditEntry[]> {
    const { registry, store } = file.boot({ breakers });
    const payments = registry.get('payments');
    const t0 = clock.t;
    await payments.execute(failing).catch(() => undefined);
    await payments.execute(failing).catch(() => undefined);
    clock.advance(10_000);
    await payments.execute(succeeding);
    clock.advance(1_000);
    await payments.trip('incident 42', 'alice');
    await expect(payments.reset({ actor: 'bob' })).rejects.toMatchObject({ code: 'RESET_COOLDOWN' });
    await payments.reset({ force: true, reason: 'provider fixed', actor: 'bob' });
    clock.advance(1_000);
    await payments.disable('maintenance', 'carol');
    await registry.get('llm').trip('llm quota', 'dave');
    await store.close();

    const entry = (e: Partial<AuditEntry>): AuditEntry =>
      ({ breaker: 'payments', actor: null, ...e }) as AuditEntry;
    return [
      entry({
        action: 'disable',
        from: 'closed',
        to: 'disabled',
        reason: 'maintenance',
        actor: 'carol',
        at: t0 + 12_000,
      }),
      entry({
        action: 'reset',
        from: 'forced_open',
        to: 'closed',
        reason: 'provider fixed',
        actor: 'bob',
        at: t0 + 11_000,
      }),
      entry({
        action: 'reset',
        from: 'forced_open',
        to: 'forced_open',
        reason: 'refused by resetCooldown: manual reset',
        actor: 'bob',
        at: t0 + 11_000,
      }),
      entry({
        action: 'trip',
        from: 'closed',
        to: 'forced_open',
        reason: 'incident 42',
        actor: 'alice',
        at: t0 + 11_000,
      }),
      entry({
        action: 'transition',
        from: 'half_open',
        to: 'closed',
        reason: 'trials_succeeded',
        at: t0 + 10_000,
      }),
      entry({
        action: 'transition',
        from: 'open',
        to: 'half_open',
        reason: 'open_duration_elapsed',
        at: t0 + 10_000,
      }),
      entry({ action: 'transition', from: 'closed', to: 'open', reason: 'failure_threshold', at: t0 }),
    ];
  }

  it('should record every transition and manual action, newest first, and keep them across a restart', async () => {
    const expected = await runIncident();

    const { registry } = file.boot({ breakers });

    expect(await registry.audit('payments')).toEqual(expected);
  });

  it('should list every breaker, newest first, up to the limit', async () => {
    const expected = await runIncident();

    const { registry } = file.boot({ breakers });

    expect(await registry.audit(undefined, { limit: 3 })).toEqual([
      expect.objectContaining({ breaker: 'llm', action: 'trip', actor: 'dave' }),
      expected[0],
      expected[1],
    ]);
  });

  it('should list entries not yet written first', async () => {
    await runIncident();
    const { registry } = file.boot({ breakers });

    const tripped = registry.get('llm').trip('again', 'erin');
    const listed = await registry.audit('llm');
    await tripped;

    expect(listed.map((e) => e.actor)).toEqual(['erin', 'dave']);
    expect(await registry.audit('llm')).toEqual(listed);
  });

  it("should keep an operator's action findable whatever per-key transitions are recorded", async () => {
    const { registry, store } = file.boot({ breakers });
    await registry.get('payments').trip('incident 42', 'alice');
    const transition = (i: number): AuditEntry => ({
      breaker: `payments#key-${i}`,
      action: 'transition',
      from: 'closed',
      to: 'open',
      reason: 'failure_threshold',
      actor: null,
      at: clock.t,
    });

    for (let i = 0; i < 115_000; i++) {
      void store.auditLog.append(transition(i));
      if (i % 5_000 === 4_999) await store.flush();
    }
    await store.close();

    const reader = file.boot({ breakers }).registry;
    expect((await reader.audit('payments')).map((e) => e.actor)).toEqual(['alice']);
    expect(await reader.audit('payments#key-114999')).toHaveLength(1);
    expect(await reader.audit('payments#key-0')).toEqual([]);
  });
});
