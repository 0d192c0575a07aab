import { Counter, Histogram, Registry, register } from 'prom-client';
import type { BreakerOptions } from '../../src/core/breaker-options';
import type { LoadSampler } from '../../src/core/load-sampler';
import { BreakerRegistry } from '../../src/core/registry';
import { BreakerMetrics } from '../../src/nest/breaker.metrics';
import type { MetricsOptions } from '../../src/nest/resilience-options.interface';
import { oneHot } from '../support/one-hot-state';
import { Scrape } from './metrics-scrape';

const INFO = 'circuit_breaker_info';
const STATE = 'circuit_breaker_state';
const CALLS = 'circuit_breaker_calls_total';
const REJECTED = 'circuit_breaker_rejected_total';
const DURATION = 'circuit_breaker_call_duration_seconds';
const TRANSITIONS = 'circuit_breaker_transitions_total';
const FAILURE_RATE = 'circuit_breaker_failure_rate';

let now = 1_700_000_000_000;
const clock = { now: () => now };
const running: BreakerMetrics[] = [];

interface Setup {
  breakers?: Record<string, BreakerOptions>;
  metrics?: MetricsOptions | false;
  /** Shares one prom-client registry between several setups, as apps share the global one. */
  prom?: Registry;
  maxKeysPerBreaker?: number;
  /** `metrics.perKey`. */
  perKey?: boolean;
  loadSampler?: LoadSampler;
}

function start({
  breakers = { payments: {} },
  metrics,
  prom = new Registry(),
  maxKeysPerBreaker,
  perKey,
  loadSampler,
}: Setup = {}) {
  const registry = new BreakerRegistry({ clock, breakers, maxKeysPerBreaker, loadSampler });
  const publisher = new BreakerMetrics(registry, { metrics: metrics ?? { registry: prom, perKey } });
  publisher.onModuleInit();
  running.push(publisher);
  return {
    prom,
    registry,
    publisher,
    scrape: async () => new Scrape(await prom.metrics()),
    stop: () => {
      running.splice(running.indexOf(publisher), 1);
      publisher.onModuleDestroy();
    },
  };
}

/** A call that takes `ms` on the fake clock and then returns or throws. */
const takes = (ms: number, error?: unknown) => (): string => {
  now += ms;
  if (error !== undefined) throw error;
  return 'ok';
};

afterEach(() => {
  for (const publisher of running.splice(0)) publisher.onModuleDestroy();
  jest.useRealTimers();
});

describe('BreakerMetrics', () => {
  it('publishes every configured breaker at start-up, before any traffic', async () => {
    const { scrape } = start({ breakers: { payments: {}, llm: {} } });

    const s = await scrape();

    expect(s.series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'closed'));
    expect(s.series(STATE, { breaker: 'llm' })).toEqual(oneHot('llm', 'closed'));
    expect(s.series(CALLS, { breaker: 'payments' })).toEqual([
      'breaker=payments,outcome=failure 0',
      'breaker=payments,outcome=ignored 0',
      'breaker=payments,outcome=success 0',
      'breaker=payments,outcome=timeout 0',
    ]);
    expect(s.series(REJECTED, { breaker: 'payments' })).toEqual([
      'breaker=payments,reason=forced_open 0',
      'breaker=payments,reason=half_open_full 0',
      'breaker=payments,reason=open 0',
    ]);
    expect(s.series(FAILURE_RATE)).toEqual(['breaker=llm 0', 'breaker=payments 0']);
    expect(s.series(`${DURATION}_count`)).toEqual([]);
    expect(s.series(TRANSITIONS, { breaker: 'payments' })).toEqual([
      'breaker=payments,from=closed,to=open 0',
      'breaker=payments,from=half_open,to=closed 0',
      'breaker=payments,from=half_open,to=open 0',
      'breaker=payments,from=open,to=half_open 0',
    ]);
  });

  it('labels every breaker with its critical option and preset in one info series, always 1', async () => {
    const { scrape } = start({
      breakers: { payments: { preset: 'http', critical: true }, llm: { preset: 'llm' }, audit: {} },
    });

    expect((await scrape()).series(INFO)).toEqual([
      'breaker=audit,critical=false,preset= 1',
      'breaker=llm,critical=false,preset=llm 1',
      'breaker=payments,critical=true,preset=http 1',
    ]);
  });

  it('counts successes and failures by outcome, with their durations in seconds', async () => {
    const { registry, scrape } = start();
    const payments = registry.get('payments');

    await payments.execute(takes(40));
    await payments.execute(takes(40));
    await expect(payments.execute(takes(200, new Error('down')))).rejects.toThrow('down');

    const s = await scrape();
    expect(s.value(CALLS, { breaker: 'payments', outcome: 'success' })).toBe(2);
    expect(s.value(CALLS, { breaker: 'payments', outcome: 'failure' })).toBe(1);
    expect(s.value(`${DURATION}_count`, { breaker: 'payments', outcome: 'success' })).toBe(2);
    expect(s.value(`${DURATION}_sum`, { breaker: 'payments', outcome: 'success' })).toBeCloseTo(0.08);
    expect(s.value(`${DURATION}_bucket`, { breaker: 'payments', outcome: 'success', le: '0.025' })).toBe(0);
    expect(s.value(`${DURATION}_bucket`, { breaker: 'payments', outcome: 'success', le: '0.05' })).toBe(2);
    expect(s.value(`${DURATION}_bucket`, { breaker: 'payments', outcome: 'success', le: '+Inf' })).toBe(2);
    expect(s.value(`${DURATION}_sum`, { breaker: 'payments', outcome: 'failure' })).toBeCloseTo(0.2);
    expect(s.value(FAILURE_RATE, { breaker: 'payments' })).toBeCloseTo(1 / 3);
  });

  it('uses buckets from 5 ms to 120 s', async () => {
    const { registry, scrape } = start();
    await registry.get('payments').execute(takes(1));

    const s = await scrape();
    const les = s.samples.filter((x) => x.name === `${DURATION}_bucket`).map((x) => x.labels.le);
    expect(les).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '30',
      '60',
      '120',
      '+Inf',
    ]);
  });

  it('counts a timeout as timeout only, and an error the breaker ignores as ignored', async () => {
    jest.useFakeTimers();
    const { registry, scrape } = start({ breakers: { payments: { timeout: 100 } } });
    const payments = registry.get('payments');

    const hung = payments.execute(() => new Promise<never>(() => {}));
    now += 100;
    jest.advanceTimersByTime(100);
    await expect(hung).rejects.toMatchObject({ code: 'BREAKER_TIMEOUT' });
    await expect(
      payments.execute(takes(5, Object.assign(new Error('not found'), { status: 404 }))),
    ).rejects.toThrow();

    const s = await scrape();
    expect(s.series(CALLS, { breaker: 'payments' })).toEqual([
      'breaker=payments,outcome=failure 0',
      'breaker=payments,outcome=ignored 1',
      'breaker=payments,outcome=success 0',
      'breaker=payments,outcome=timeout 1',
    ]);
    expect(s.value(`${DURATION}_sum`, { breaker: 'payments', outcome: 'timeout' })).toBeCloseTo(0.1);
    expect(s.value(`${DURATION}_count`, { breaker: 'payments', outcome: 'ignored' })).toBe(1);
  });

  it('counts rejections by reason and transitions by from and to', async () => {
    const { registry, scrape } = start({
      breakers: { payments: { failureThreshold: 1, openDuration: 1000 } },
    });
    const payments = registry.get('payments');

    await expect(payments.execute(takes(1, new Error('down')))).rejects.toThrow('down');
    await expect(payments.execute(takes(1))).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    now += 1000;
    let finishTrial!: (value: string) => void;
    const trial = payments.execute(() => new Promise<string>((resolve) => (finishTrial = resolve)));
    await expect(payments.execute(takes(1))).rejects.toMatchObject({ state: 'half_open' });
    finishTrial('ok');
    await trial;
    await payments.trip();
    await expect(payments.execute(takes(1))).rejects.toMatchObject({ state: 'forced_open' });

    const s = await scrape();
    expect(s.series(REJECTED, { breaker: 'payments' })).toEqual([
      'breaker=payments,reason=forced_open 1',
      'breaker=payments,reason=half_open_full 1',
      'breaker=payments,reason=open 1',
    ]);
    expect(s.series(TRANSITIONS, { breaker: 'payments' })).toEqual([
      'breaker=payments,from=closed,to=forced_open 1',
      'breaker=payments,from=closed,to=open 1',
      'breaker=payments,from=half_open,to=closed 1',
      'breaker=payments,from=half_open,to=open 0',
      'breaker=payments,from=open,to=half_open 1',
    ]);
    expect(s.series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'forced_open'));
  });

  it('counts shed calls as rejections with reason load_shed, a series only breakers that shed have', async () => {
    const { registry, scrape } = start({
      breakers: { search: { loadShed: { inFlight: 0 } }, payments: {} },
      loadSampler: { utilization: () => 1 },
    });
    const search = registry.get('search');

    // The outer call runs, so the inner one finds a call in flight on a busy loop.
    await expect(search.execute(() => search.execute(takes(1)))).rejects.toMatchObject({ code: 'LOAD_SHED' });

    const s = await scrape();
    expect(s.series(REJECTED, { breaker: 'search' })).toEqual([
      'breaker=search,reason=forced_open 0',
      'breaker=search,reason=half_open_full 0',
      'breaker=search,reason=load_shed 1',
      'breaker=search,reason=open 0',
    ]);
    expect(s.series(REJECTED, { breaker: 'payments' })).toHaveLength(3);
  });

  it('shows the state as of the scrape: an open breaker whose open period has passed is half_open', async () => {
    const { registry, scrape } = start({
      breakers: { payments: { failureThreshold: 1, openDuration: 30_000 } },
    });
    await expect(registry.get('payments').execute(takes(1, new Error('down')))).rejects.toThrow();

    expect((await scrape()).series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'open'));
    now += 30_000;

    const s = await scrape();
    expect(s.series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'half_open'));
    expect(s.value(TRANSITIONS, { breaker: 'payments', from: 'open', to: 'half_open' })).toBe(1);
  });

  it('shows a disabled breaker as disabled', async () => {
    const { registry, scrape } = start();
    await registry.get('payments').disable();

    expect((await scrape()).series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'disabled'));
  });

  it('publishes breakers created after start-up, and removes every series of a removed one', async () => {
    const { registry, scrape } = start({
      breakers: { tenant: { failureThreshold: 1, critical: true } },
      perKey: true,
    });
    const acme = registry.get('tenant', 'acme');
    await expect(acme.execute(takes(1, new Error('down')))).rejects.toThrow();
    await expect(acme.execute(takes(1))).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    const before = await scrape();
    expect(before.names('tenant#acme')).toEqual([
      `${DURATION}_bucket`,
      `${DURATION}_count`,
      `${DURATION}_sum`,
      CALLS,
      FAILURE_RATE,
      INFO,
      REJECTED,
      STATE,
      TRANSITIONS,
    ]);
    expect(before.series(INFO)).toEqual([
      'breaker=tenant#acme,critical=true,preset= 1',
      'breaker=tenant,critical=true,preset= 1',
    ]);

    registry.remove('tenant', 'acme');

    const s = await scrape();
    expect(s.names('tenant#acme')).toEqual([]);
    expect(s.series(STATE, { breaker: 'tenant' })).toEqual(oneHot('tenant', 'closed'));
    expect(s.series(INFO)).toEqual(['breaker=tenant,critical=true,preset= 1']);
  });

  it('removes the series of a per-key breaker evicted by maxKeysPerBreaker', async () => {
    const { registry, scrape } = start({ breakers: { tenant: {} }, maxKeysPerBreaker: 1, perKey: true });
    await registry.get('tenant', 'a').execute(takes(1));
    await registry.get('tenant', 'b').execute(takes(1));

    const s = await scrape();
    expect(s.names('tenant#a')).toEqual([]);
    expect(s.value(CALLS, { breaker: 'tenant#b', outcome: 'success' })).toBe(1);
    expect(s.series(INFO)).toEqual([
      'breaker=tenant#b,critical=false,preset= 1',
      'breaker=tenant,critical=false,preset= 1',
    ]);
  });

  it('stops counting a removed breaker', async () => {
    const { registry, scrape } = start();
    const payments = registry.get('payments');
    registry.remove('payments');

    await payments.execute(takes(1));

    expect((await scrape()).names('payments')).toEqual([]);
  });

  it('publishes the info series again after the registry was reset', async () => {
    const { prom, scrape } = start({ breakers: { payments: { critical: true } } });

    prom.resetMetrics();

    expect((await scrape()).series(INFO)).toEqual(['breaker=payments,critical=true,preset= 1']);
  });

  it('prepends metrics.prefix to every name', async () => {
    const prom = new Registry();
    const { registry, scrape } = start({ prom, metrics: { registry: prom, prefix: 'shop_' } });
    await registry.get('payments').execute(takes(1));

    const names = (await scrape()).names();
    expect(names).toEqual([
      `shop_${DURATION}_bucket`,
      `shop_${DURATION}_count`,
      `shop_${DURATION}_sum`,
      `shop_${CALLS}`,
      `shop_${FAILURE_RATE}`,
      `shop_${INFO}`,
      `shop_${REJECTED}`,
      `shop_${STATE}`,
      `shop_${TRANSITIONS}`,
    ]);
  });

  it("uses prom-client's global registry by default and leaves it empty when destroyed", async () => {
    const { stop } = start({ metrics: {} });
    expect(new Scrape(await register.metrics()).value(STATE, { breaker: 'payments', state: 'closed' })).toBe(
      1,
    );

    stop();

    expect(register.getMetricsAsArray()).toEqual([]);
  });

  it('publishes nothing with metrics: false', async () => {
    const prom = new Registry();
    start({ prom, metrics: false });

    expect(prom.getMetricsAsArray()).toEqual([]);
    expect(register.getMetricsAsArray()).toEqual([]);
  });

  it('keeps two apps on one registry apart: each removes only its own series', async () => {
    const prom = new Registry();
    const first = start({ prom, breakers: { payments: {} } });
    const second = start({ prom, breakers: { llm: {} } });
    await first.registry.get('payments').execute(takes(1));
    await second.registry.get('llm').execute(takes(1));

    expect((await first.scrape()).series(STATE, { state: 'closed' })).toEqual([
      'breaker=llm,state=closed 1',
      'breaker=payments,state=closed 1',
    ]);
    first.stop();

    const s = await second.scrape();
    expect(s.series(STATE, { state: 'closed' })).toEqual(['breaker=llm,state=closed 1']);
    expect(s.series(CALLS, { outcome: 'success' })).toEqual(['breaker=llm,outcome=success 1']);
    expect(s.series(INFO)).toEqual(['breaker=llm,critical=false,preset= 1']);
    second.stop();
    expect(prom.getMetricsAsArray()).toEqual([]);
  });

  it('does not report the breakers of an app destroyed before the next one started', async () => {
    const prom = new Registry();
    const first = start({ prom, breakers: { payments: {} } });
    const old = first.registry.get('payments');
    first.stop();
    const second = start({ prom, breakers: { llm: {} } });

    await old.execute(takes(1));
    await old.trip();

    const s = await second.scrape();
    expect(s.names('payments')).toEqual([]);
    expect(s.value(STATE, { breaker: 'llm', state: 'closed' })).toBe(1);
  });

  it('refuses a metric of the same name it did not create, and leaves the registry as it was', () => {
    const prom = new Registry();
    new Counter({ name: CALLS, help: 'an app metric', registers: [prom] });

    expect(() => start({ prom })).toThrow(
      /"circuit_breaker_calls_total" is already registered.*metrics\.prefix/,
    );
    expect(prom.getMetricsAsArray().map((m) => m.name)).toEqual([CALLS]);
  });

  it('refuses a prefix Prometheus would not accept', () => {
    expect(() => start({ metrics: { registry: new Registry(), prefix: 'my-app_' } })).toThrow(
      /metrics\.prefix/,
    );
  });
});

describe('BreakerMetrics for per-key breakers', () => {
  const KEYS = 'circuit_breaker_keys';
  const KEYED_CALLS = 'circuit_breaker_keyed_calls_total';
  const KEYED_REJECTED = 'circuit_breaker_keyed_rejected_total';
  const KEYED_TRANSITIONS = 'circuit_breaker_keyed_transitions_total';
  const boom = new Error('down');

  /** Opens the per-key breaker of `key` (failureThreshold 1) and has one call rejected. */
  async function openKey(registry: BreakerRegistry, key: string): Promise<void> {
    const breaker = registry.get('hosts', key);
    await expect(breaker.execute(takes(1, boom))).rejects.toBe(boom);
    await expect(breaker.execute(takes(1))).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
  }

  it('sums them up under their name by default: a scrape does not grow with the number of keys', async () => {
    const few = start({ breakers: { hosts: { failureThreshold: 1 } } });
    await openKey(few.registry, 'h0');
    const many = start({ breakers: { hosts: { failureThreshold: 1 } } });
    for (let i = 0; i < 1_000; i++) await many.registry.get('hosts', `h${i}`).execute(takes(1));
    for (let i = 0; i < 10; i++) await openKey(many.registry, `bad-${i}`);

    const small = await few.scrape();
    const large = await many.scrape();

    expect(large.samples.length).toBe(small.samples.length);
    expect(large.samples.filter((x) => x.labels.breaker?.startsWith('hosts#'))).toEqual([]);
    expect(large.series(KEYS, { breaker: 'hosts' })).toEqual([
      'breaker=hosts,state=closed 990',
      'breaker=hosts,state=disabled 0',
      'breaker=hosts,state=forced_open 0',
      'breaker=hosts,state=half_open 0',
      'breaker=hosts,state=open 10',
    ]);
    expect(large.series(KEYED_CALLS, { breaker: 'hosts' })).toEqual([
      'breaker=hosts,outcome=failure 10',
      'breaker=hosts,outcome=ignored 0',
      'breaker=hosts,outcome=success 1000',
      'breaker=hosts,outcome=timeout 0',
    ]);
    expect(large.value(KEYED_REJECTED, { breaker: 'hosts', reason: 'open' })).toBe(10);
    expect(large.value(KEYED_TRANSITIONS, { breaker: 'hosts', from: 'closed', to: 'open' })).toBe(10);
    expect(large.series(STATE, { breaker: 'hosts' })).toEqual(oneHot('hosts', 'closed'));
  });

  it('counts the keys in each state as of the scrape, and keeps the counts of evicted ones', async () => {
    const { registry, scrape } = start({
      breakers: { hosts: { failureThreshold: 1, openDuration: 1_000 } },
      maxKeysPerBreaker: 2,
    });
    await openKey(registry, 'a');
    await registry.get('hosts', 'b').disable();
    now += 1_000;

    const first = await scrape();
    await registry.get('hosts', 'c').execute(takes(1));
    const second = await scrape();

    expect(first.value(KEYS, { breaker: 'hosts', state: 'half_open' })).toBe(1);
    expect(first.value(KEYS, { breaker: 'hosts', state: 'disabled' })).toBe(1);
    expect(second.value(KEYS, { breaker: 'hosts', state: 'half_open' })).toBe(0);
    expect(second.value(KEYS, { breaker: 'hosts', state: 'closed' })).toBe(1);
    expect(second.value(KEYED_CALLS, { breaker: 'hosts', outcome: 'failure' })).toBe(1);
    expect(second.value(KEYED_CALLS, { breaker: 'hosts', outcome: 'success' })).toBe(1);
    expect(second.value(KEYED_TRANSITIONS, { breaker: 'hosts', from: 'closed', to: 'disabled' })).toBe(1);
  });

  it('never shows a per-key breaker under the name of a configured one, summed up or on its own', async () => {
    for (const perKey of [false, true]) {
      const { registry, scrape } = start({
        breakers: { hosts: { failureThreshold: 1 }, 'hosts:internal': { critical: true } },
        perKey,
      });
      await openKey(registry, 'internal');

      const s = await scrape();

      expect(s.series(STATE, { breaker: 'hosts:internal' })).toEqual(oneHot('hosts:internal', 'closed'));
      expect(s.value(CALLS, { breaker: 'hosts:internal', outcome: 'failure' })).toBe(0);
      expect(s.series(INFO, { breaker: 'hosts:internal' })).toEqual([
        'breaker=hosts:internal,critical=true,preset= 1',
      ]);
      if (perKey)
        expect(s.series(STATE, { breaker: 'hosts#internal' })).toEqual(oneHot('hosts#internal', 'open'));
      else expect(s.names('hosts#internal')).toEqual([]);
    }
  });

  it('publishes every per-key breaker on its own too with metrics.perKey, labelled with its full name', async () => {
    const { prom, registry, scrape } = start({ breakers: { hosts: { failureThreshold: 1 } }, perKey: true });
    await openKey(registry, 'a\u001bb');

    const s = await scrape();
    expect(await prom.metrics()).not.toContain('\u001b');

    expect(s.series(STATE, { breaker: 'hosts#a\\u001bb' })).toEqual(oneHot('hosts#a\\u001bb', 'open'));
    expect(s.value(KEYS, { breaker: 'hosts', state: 'open' })).toBe(1);
  });

  it('removes the summary series when the app stops', async () => {
    const prom = new Registry();
    const { registry, stop } = start({ prom });
    registry.get('hosts', 'a');

    stop();

    expect(await prom.metrics()).not.toMatch(/circuit_breaker_keys/);
  });

  it('refuses a metrics.perKey that is not a boolean', () => {
    expect(() => start({ metrics: { registry: new Registry(), perKey: 'yes' as never } })).toThrow(
      /metrics.perKey = "yes"; expected true or false/,
    );
  });
});

describe('BreakerMetrics call duration histogram', () => {
  const success = { breaker: 'payments', outcome: 'success' };
  /** The cumulative `le` buckets of one series, as `le value` lines in scrape order. */
  const buckets = (s: Scrape, labels: Record<string, string>) =>
    s.samples
      .filter(
        (x) =>
          x.name === `${DURATION}_bucket` &&
          x.labels.breaker === labels.breaker &&
          x.labels.outcome === labels.outcome,
      )
      .map((x) => `${x.labels.le} ${x.value}`);

  it('counts every duration in the bucket of the first bound at or above it, +Inf only above 120 s', async () => {
    const { registry, scrape } = start();
    const payments = registry.get('payments');

    // 5 ms, 250 ms, 1 s and 120 s lie exactly on bounds; 121 s is above the last one.
    for (const ms of [5, 7, 250, 1000, 120_000, 121_000]) await payments.execute(takes(ms));

    const s = await scrape();
    expect(buckets(s, success)).toEqual([
      '0.005 1',
      '0.01 2',
      '0.025 2',
      '0.05 2',
      '0.1 2',
      '0.25 3',
      '0.5 3',
      '1 4',
      '2.5 4',
      '5 4',
      '10 4',
      '30 4',
      '60 4',
      '120 5',
      '+Inf 6',
    ]);
    expect(s.value(`${DURATION}_count`, success)).toBe(6);
    expect(s.value(`${DURATION}_sum`, success)).toBe(0.005 + 0.007 + 0.25 + 1 + 120 + 121);
    expect(s.series(`${DURATION}_count`, { breaker: 'payments' })).toEqual([
      'breaker=payments,outcome=success 6',
    ]);
  });

  it('counts each duration once, however many scrapes follow it', async () => {
    const { registry, scrape } = start();
    const payments = registry.get('payments');
    await payments.execute(takes(20));
    await payments.execute(takes(20));
    const first = await scrape();

    await payments.execute(takes(300));
    const second = await scrape();
    const third = await scrape();

    expect(first.value(`${DURATION}_count`, success)).toBe(2);
    expect(first.value(`${DURATION}_sum`, success)).toBe(0.02 + 0.02);
    for (const s of [second, third]) {
      expect(s.value(`${DURATION}_count`, success)).toBe(3);
      expect(s.value(`${DURATION}_sum`, success)).toBe(0.02 + 0.02 + 0.3);
      expect(s.value(`${DURATION}_bucket`, { ...success, le: '0.025' })).toBe(2);
      expect(s.value(`${DURATION}_bucket`, { ...success, le: '0.25' })).toBe(2);
      expect(s.value(`${DURATION}_bucket`, { ...success, le: '0.5' })).toBe(3);
      expect(s.value(`${DURATION}_bucket`, { ...success, le: '+Inf' })).toBe(3);
    }
  });

  it('adds the durations of one breaker from two apps sharing a registry into one series', async () => {
    const prom = new Registry();
    const first = start({ prom });
    const second = start({ prom });
    await first.registry.get('payments').execute(takes(10));
    await second.registry.get('payments').execute(takes(10));

    const s = await first.scrape();

    expect(s.value(`${DURATION}_count`, success)).toBe(2);
    expect(s.value(`${DURATION}_bucket`, { ...success, le: '0.01' })).toBe(2);
  });

  it('drops the durations of a breaker removed before they were scraped', async () => {
    const { registry, scrape } = start({ breakers: { tenant: {} }, perKey: true });
    await registry.get('tenant', 'acme').execute(takes(10));
    await registry.get('tenant').execute(takes(10));

    registry.remove('tenant', 'acme');

    const s = await scrape();
    expect(s.names('tenant#acme')).toEqual([]);
    expect(s.value(`${DURATION}_count`, { breaker: 'tenant', outcome: 'success' })).toBe(1);
    expect((await scrape()).names('tenant#acme')).toEqual([]);
  });

  it('publishes durations observed after a reset of the registry, and none from before it already scraped', async () => {
    const { prom, registry, scrape } = start();
    const payments = registry.get('payments');
    await payments.execute(takes(10));
    await scrape();

    prom.resetMetrics();
    await payments.execute(takes(40));

    const s = await scrape();
    expect(s.value(`${DURATION}_count`, success)).toBe(1);
    expect(s.value(`${DURATION}_sum`, success)).toBe(0.04);
  });

  it("keeps publishing durations whatever prom-client's Histogram keeps inside: it uses none of it", async () => {
    // A prom-client release whose histograms keep series elsewhere: zero() no longer adds one where observe() would.
    const zero = jest.spyOn(Histogram.prototype, 'zero').mockImplementation(() => undefined);
    try {
      const { registry, scrape } = start();
      await registry.get('payments').execute(takes(30));

      const s = await scrape();

      expect(s.value(`${DURATION}_count`, success)).toBe(1);
      expect(s.value(`${DURATION}_bucket`, { ...success, le: '0.05' })).toBe(1);
      expect(s.value(`${DURATION}_bucket`, { ...success, le: '0.025' })).toBe(0);
    } finally {
      zero.mockRestore();
    }
  });

  it('shares its metrics with another app whatever prom-client keeps inside a metric: it reads none of it', async () => {
    const prom = new Registry();
    start({ prom });
    // A prom-client release that keeps a metric's type under another name.
    for (const metric of prom.getMetricsAsArray()) delete (metric as unknown as Record<string, unknown>).type;

    const second = start({ prom, breakers: { llm: {} } });

    expect((await second.scrape()).value(STATE, { breaker: 'llm', state: 'closed' })).toBe(1);
  });
});
