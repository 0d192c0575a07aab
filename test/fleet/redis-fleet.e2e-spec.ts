import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { runCli } from '../cli/cli-runner';
import { killHard, readLines, spawnTs } from '../support/child-process';
import {
  deleteKeys,
  PROPAGATION_MS,
  REDIS_URL,
  startRedisServer,
  testPrefix,
} from '../support/redis-fixture';
import { eventually } from '../support/eventually';

const CHILD = join(__dirname, '..', 'support', 'fleet-instance-child.ts');

interface CallAnswer {
  ok: boolean;
  state?: string;
  ms: number;
}

/** One app process of the fleet, reached over HTTP. */
class Instance {
  constructor(
    readonly id: string,
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  async get<T>(path: string): Promise<T> {
    return (await fetch(`http://127.0.0.1:${this.port}${path}`)).json() as Promise<T>;
  }

  async post<T>(path: string, body: object = {}): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return response.json() as Promise<T>;
  }

  call(name: string, outcome = 'ok', key?: string): Promise<CallAnswer> {
    return this.get(`/call/${name}?outcome=${outcome}${key === undefined ? '' : `&key=${key}`}`);
  }

  async state(name: string): Promise<string> {
    return (await this.get<{ state: string }>(`/resilience/breakers/${encodeURIComponent(name)}`)).state;
  }

  async snapshot(name: string): Promise<{ state: string; nextAttemptAt: number | null }> {
    return this.get(`/resilience/breakers/${encodeURIComponent(name)}`);
  }

  async dependencyCalls(): Promise<number> {
    return (await this.get<{ calls: number }>('/deps')).calls;
  }
}

// Each test boots its own fleet of processes, each compiling the sources on load.
jest.setTimeout(30_000);

describe('a fleet of app processes on the redis store', () => {
  let prefix: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    prefix = testPrefix();
  });

  afterEach(async () => {
    await Promise.all(children.splice(0).map(killHard));
    await deleteKeys(prefix);
  });

  async function start(
    breakers: Record<string, object>,
    extra: { clockSkewMs?: number; redisUrl?: string; commandTimeout?: number } = {},
    id = `instance-${children.length}`,
  ): Promise<Instance> {
    const child = spawnTs(CHILD, [
      JSON.stringify({ redisUrl: REDIS_URL, keyPrefix: prefix, instanceId: id, breakers, ...extra }),
    ]);
    children.push(child);
    const [line] = await readLines(child, 1);
    return new Instance(id, child, (JSON.parse(line) as { port: number }).port);
  }

  const fleet = (n: number, breakers: Record<string, object>, extra = {}) =>
    Promise.all(Array.from({ length: n }, (_, i) => start(breakers, extra, `instance-${i}`)));

  it('should open the breaker on all three within 250 ms of failures seen by one, the others never calling', async () => {
    const [a, b, c] = await fleet(3, { payments: { failureThreshold: 3, openDuration: 60_000 } });
    for (let i = 0; i < 3; i++) await a.call('payments', 'fail');
    const took = await eventually(
      async () => (await b.state('payments')) === 'open' && (await c.state('payments')) === 'open',
    );

    expect(took).toBeLessThan(PROPAGATION_MS);
    expect(await b.call('payments')).toMatchObject({ ok: false, state: 'open' });
    expect(await c.call('payments')).toMatchObject({ ok: false, state: 'open' });
    expect([await b.dependencyCalls(), await c.dependencyCalls()]).toEqual([0, 0]);
  });

  it('should open the fleet with fleetQuorum: 2 only once a second instance opened it', async () => {
    const [a, b, c] = await fleet(3, {
      payments: { failureThreshold: 1, openDuration: 60_000, fleetQuorum: 2 },
    });
    await a.call('payments', 'fail');
    await delay(150);
    expect([await a.state('payments'), await b.state('payments'), await c.state('payments')]).toEqual([
      'open',
      'closed',
      'closed',
    ]);
    await b.call('payments', 'fail');
    await eventually(async () => (await c.state('payments')) === 'open', PROPAGATION_MS);
  });

  it('should make exactly one transition and one audit entry when three instances open at once', async () => {
    const instances = await fleet(3, { payments: { failureThreshold: 1, openDuration: 60_000 } });
    await Promise.all(instances.map((i) => i.call('payments', 'fail')));
    await eventually(async () =>
      (await Promise.all(instances.map((i) => i.state('payments')))).every((s) => s === 'open'),
    );
    await delay(100);

    const audit = await instances[2].get<Array<{ action: string; to: string }>>(
      '/resilience/audit?breaker=payments',
    );
    expect(audit.filter((e) => e.action === 'transition')).toEqual([expect.objectContaining({ to: 'open' })]);
  });

  it('should apply a trip on one instance and a forced reset on another to all three', async () => {
    const [a, b, c] = await fleet(3, { payments: {} });
    await a.post('/resilience/breakers/payments/trip', { reason: 'provider incident' });
    await eventually(
      async () =>
        (await b.state('payments')) === 'forced_open' && (await c.state('payments')) === 'forced_open',
      PROPAGATION_MS,
    );

    await b.post('/resilience/breakers/payments/reset', { reason: 'provider fixed', force: true });
    await eventually(
      async () => (await a.state('payments')) === 'closed' && (await c.state('payments')) === 'closed',
      PROPAGATION_MS,
    );
    // The fleet view, from any instance: each live instance's breakers as its heartbeat (every 200 ms) reported them.
    type FleetView = { instances: Array<{ instance: string; breakers: Array<{ state: string }> }> };
    const rows = async () =>
      (await b.get<FleetView>('/resilience/breakers?scope=fleet')).instances.map((i) => [
        i.instance,
        i.breakers[0].state,
      ]);
    await eventually(async () => (await rows()).every(([, state]) => state === 'closed'));
    expect(await rows()).toEqual([
      ['instance-0', 'closed'],
      ['instance-1', 'closed'],
      ['instance-2', 'closed'],
    ]);
    const status = await runCli(['status', '--fleet'], {
      NEST_RESILIENCE_URL: `http://127.0.0.1:${c.port}/resilience`,
    });
    expect(status.code).toBe(0);
    expect(
      status.stdout
        .trimEnd()
        .split('\n')
        .map((row) => row.split(/\s+/).slice(0, 3)),
    ).toEqual([
      ['NAME', 'INSTANCE', 'STATE'],
      ['payments', 'instance-0', 'closed'],
      ['payments', 'instance-1', 'closed'],
      ['payments', 'instance-2', 'closed'],
    ]);
    const audit = await c.get<Array<{ action: string; instance: string }>>(
      '/resilience/audit?breaker=payments',
    );
    expect(audit.map((e) => [e.action, e.instance])).toEqual([
      ['reset', 'instance-1'],
      ['trip', 'instance-0'],
    ]);
  });

  it('should let exactly halfOpenMaxCalls trials run in the fleet under 3 x 20 concurrent callers', async () => {
    const instances = await fleet(3, {
      payments: { failureThreshold: 1, openDuration: 300, halfOpenMaxCalls: 2, halfOpenMaxWait: 10_000 },
    });
    await instances[0].call('payments', 'fail');
    await eventually(async () =>
      (await Promise.all(instances.map((i) => i.state('payments')))).every((s) => s !== 'closed'),
    );
    await delay(350);
    const before = await Promise.all(instances.map((i) => i.dependencyCalls()));

    const calls = instances.flatMap((i) => Array.from({ length: 20 }, () => i.call('payments', 'hold')));
    await delay(300);
    const after = await Promise.all(instances.map((i) => i.dependencyCalls()));
    await Promise.all(instances.map((i) => i.post('/release')));
    const answers = await Promise.all(calls);

    expect(after.reduce((x, y) => x + y, 0) - before.reduce((x, y) => x + y, 0)).toBe(2);
    expect(answers.filter((r) => r.ok)).toHaveLength(2);
    expect(answers.filter((r) => !r.ok && r.state === 'half_open')).toHaveLength(58);
  });

  it('should let another instance trial after halfOpenMaxWait when the one holding the trial is killed with kill -9', async () => {
    const [a, b, c] = await fleet(3, {
      payments: { failureThreshold: 1, openDuration: 200, halfOpenMaxWait: 600 },
    });
    await a.call('payments', 'fail');
    await eventually(async () => (await b.state('payments')) !== 'closed');
    await delay(250);
    void a.call('payments', 'hold').catch(() => {});
    await eventually(async () => (await a.dependencyCalls()) === 2);
    await killHard(a.child);

    expect(await b.call('payments')).toMatchObject({ ok: false, state: 'half_open' });
    // The lease expires after halfOpenMaxWait: a failed trial, so the fleet reopens for openDuration.
    await delay(650);
    await b.call('payments');
    await delay(250);
    const trial = await eventually(async () => (await c.call('payments')).ok, 1_000);
    expect(trial).toBeLessThan(1_000);
    expect(await c.dependencyCalls()).toBe(1);
    await eventually(async () => (await b.state('payments')) === 'closed', PROPAGATION_MS);
  });

  it('should keep the fleet open period when the instance that opened it has a skewed clock', async () => {
    const skewed = await start(
      { payments: { failureThreshold: 1, openDuration: 10_000 } },
      { clockSkewMs: 60_000 },
    );
    const [b] = await Promise.all([start({ payments: { failureThreshold: 1, openDuration: 10_000 } })]);
    const openedBefore = Date.now();
    await skewed.call('payments', 'fail');
    await eventually(async () => (await b.state('payments')) === 'open');

    const { nextAttemptAt } = await b.snapshot('payments');
    expect(nextAttemptAt).toBeGreaterThanOrEqual(openedBefore + 10_000 - 50);
    expect(nextAttemptAt).toBeLessThanOrEqual(Date.now() + 10_000 + 50);
    // The skewed instance sees the same period, in its own clock's epoch.
    const own = await skewed.snapshot('payments');
    expect((own.nextAttemptAt as number) - 60_000).toBeGreaterThanOrEqual(openedBefore + 10_000 - 50);
    expect((own.nextAttemptAt as number) - 60_000).toBeLessThanOrEqual(Date.now() + 10_000 + 50);
  });

  it('should share per-key breakers, starting one OPEN on an instance that had not created it', async () => {
    const [a, b] = await fleet(2, { hosts: { failureThreshold: 1, openDuration: 60_000 } });
    await a.call('hosts', 'fail', 'api.example.com');
    await delay(150);
    expect(await b.call('hosts', 'ok', 'api.example.com')).toMatchObject({ ok: false, state: 'open' });
    expect(await b.call('hosts', 'ok', 'other.example.com')).toMatchObject({ ok: true });
    expect(await b.dependencyCalls()).toBe(1);
  });

  describe('with a redis-server of its own, stopped mid-traffic and restarted', () => {
    const port = 16_379 + Math.floor(Math.random() * 1_000);
    let server: ChildProcess | undefined;

    afterEach(async () => {
      if (server !== undefined) await killHard(server);
    });

    it('should keep calls within their bound, open locally, report degraded health, and read the fleet state again', async () => {
      server = await startRedisServer(port);
      const breakers = { payments: { failureThreshold: 2, openDuration: 60_000 } };
      const extra = { redisUrl: `redis://127.0.0.1:${port}`, commandTimeout: 100 };
      const [a, b] = await fleet(2, breakers, extra);
      await killHard(server!);

      const answers = await Promise.all(Array.from({ length: 20 }, () => a.call('payments')));
      expect(Math.max(...answers.map((r) => r.ms))).toBeLessThan(100);
      await a.call('payments', 'fail');
      await a.call('payments', 'fail');
      expect(await a.state('payments')).toBe('open');
      expect(await b.state('payments')).toBe('closed');
      await eventually(async () => {
        const health = await a.get<{ status: string; details: { circuit_breakers: { store: object } } }>(
          '/health',
        );
        return (
          health.details?.circuit_breakers?.store !== undefined &&
          JSON.stringify(health.details.circuit_breakers.store) ===
            JSON.stringify({ type: 'redis', status: 'down' })
        );
      });
      const health = await (await fetch(`http://127.0.0.1:${a.port}/health`)).status;
      expect(health).toBe(200);

      server = await startRedisServer(port);
      // On reconnect, a reports the opening it made meanwhile, and the fleet opens on b too.
      await eventually(async () => (await b.state('payments')) === 'open', 5_000);
      await eventually(async () => {
        const h = await a.get<{ details: { circuit_breakers: { store: { status: string } } } }>('/health');
        return h.details.circuit_breakers.store.status === 'up';
      }, 5_000);
      // Both subscribed again: a transition after the outage still reaches every instance.
      await b.post('/resilience/breakers/payments/trip', { reason: 'after the outage' });
      await eventually(async () => (await a.state('payments')) === 'forced_open', PROPAGATION_MS);
    });
  });
});
