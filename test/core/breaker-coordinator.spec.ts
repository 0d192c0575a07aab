import type { BreakerCoordinator, LocalTransition, TrialOutcome } from '../../src/core/breaker-coordinator';
import { breakerOn, fail, fakeClock, succeed, T0 } from './breaker-test-kit';

/** A coordinator that records what it is told and grants trials as the test says. */
function recordingCoordinator(grant: boolean) {
  const transitions: LocalTransition[] = [];
  const settled: TrialOutcome[] = [];
  let claims = 0;
  const coordinator: BreakerCoordinator = {
    coordinate: (t) => void transitions.push(t),
    claimTrial: async () => {
      claims++;
      return grant ? { settle: (outcome) => void settled.push(outcome) } : null;
    },
  };
  return { coordinator, transitions, settled, claims: () => claims };
}

describe('Breaker with a coordinator', () => {
  it('should tell the coordinator of its own transitions, after they took effect, and ask nothing on the call path', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { failureThreshold: 2, openDuration: 1_000 });
    const c = recordingCoordinator(true);
    breaker.coordinateWith(c.coordinator);

    await succeed(breaker, 50);
    await fail(breaker, 2);
    await breaker.execute(() => 'ok').catch(() => undefined);

    expect(c.transitions).toEqual([
      expect.objectContaining({
        breaker: 'payments',
        from: 'closed',
        to: 'open',
        reason: 'failure_threshold',
        manual: false,
        at: T0,
        openDuration: 1_000,
      }),
    ]);
    expect(c.claims()).toBe(0);
  });

  it('should run a HALF_OPEN trial only once the coordinator granted it, and tell its lease how it ended', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000 });
    const c = recordingCoordinator(true);
    breaker.coordinateWith(c.coordinator);
    await fail(breaker);
    clock.advance(1_000);

    await expect(breaker.execute(() => 'trial')).resolves.toBe('trial');
    expect(c.claims()).toBe(1);
    expect(c.settled).toEqual(['success']);
    expect(breaker.state).toBe('closed');
  });

  it('should reject a trial the coordinator refused as half_open_full and free its slot', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000 });
    const c = recordingCoordinator(false);
    breaker.coordinateWith(c.coordinator);
    await fail(breaker);
    clock.advance(1_000);
    let ran = false;

    await expect(breaker.execute(() => (ran = true))).rejects.toMatchObject({
      code: 'BREAKER_OPEN',
      state: 'half_open',
    });
    expect(ran).toBe(false);
    await expect(breaker.execute(() => 'again')).rejects.toMatchObject({ state: 'half_open' });
    expect(c.claims()).toBe(2);
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', inFlight: 0 });
  });

  it('should apply a remote opening at once, with its event, without reporting it back', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { openDuration: 1_000 });
    const c = recordingCoordinator(true);
    breaker.coordinateWith(c.coordinator);
    const changes: string[] = [];
    breaker.on('stateChange', (e) => void changes.push(`${e.from}->${e.to}:${e.reason}:${e.remote}`));

    breaker.applyRemote({
      to: 'open',
      openedAt: T0 - 200,
      until: T0 + 800,
      openDuration: 1_000,
      reason: 'fleet',
    });

    await expect(breaker.execute(() => 'ok')).rejects.toMatchObject({ state: 'open', retryAfterMs: 800 });
    expect(breaker.snapshot()).toMatchObject({ openedAt: T0 - 200, nextAttemptAt: T0 + 800, tripCount: 1 });
    expect(changes).toEqual(['closed->open:fleet:true']);
    expect(c.transitions).toEqual([]);
  });

  it('should wait for the coordinator before a manual action settles', async () => {
    const breaker = breakerOn(fakeClock());
    let confirm!: () => void;
    const confirmed = new Promise<void>((resolve) => (confirm = resolve));
    breaker.coordinateWith({ coordinate: () => confirmed, claimTrial: async () => null });
    let settled = false;

    const trip = breaker.trip('maintenance', 'alice').then(() => (settled = true));
    await Promise.resolve();
    expect([breaker.state, settled]).toEqual(['forced_open', false]);
    confirm();
    await trip;
    expect(settled).toBe(true);
  });
});
