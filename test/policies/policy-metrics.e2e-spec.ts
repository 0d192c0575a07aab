import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { Bulkhead, RateLimit, Retry, Timeout } from '../../src/nest/policy.decorators';
import { Scrape } from '../nest/metrics-scrape';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';

@Injectable()
class Downstream {
  @Retry({ attempts: 2, delay: 1, jitter: 'none' })
  async flaky(): Promise<string> {
    throw new Error('down');
  }

  @Retry({ attempts: 3, delay: 1, maxDelay: 1_000 })
  async throttled(): Promise<string> {
    // A 429 whose Retry-After is a minute: more than this retry may wait.
    throw Object.assign(new Error('slow down'), { retryAfterMs: 60_000 });
  }

  @Bulkhead({ maxConcurrent: 1, maxQueue: 1 })
  async busy(ms: number): Promise<string> {
    return new Promise((resolve) => setTimeout(() => resolve('done'), ms));
  }

  @RateLimit({ limit: 1, interval: 60_000 })
  async limited(): Promise<string> {
    return 'ok';
  }

  @Timeout(20)
  async slow(): Promise<string> {
    return new Promise((resolve) => setTimeout(() => resolve('late'), 200));
  }
}

describe('policy metrics', () => {
  afterEach(closeAllApps);

  it('should count retries by outcome, rejections by reason, and show bulkhead occupancy', async () => {
    const registry = new Registry();
    const t = await createApp({ providers: [Downstream] }, { metrics: { registry, prefix: 'app_' } });
    const downstream = t.app.get(Downstream);
    await expect(downstream.flaky()).rejects.toThrow('down');
    await downstream.limited();
    await expect(downstream.limited()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(downstream.slow()).rejects.toMatchObject({ code: 'TIMEOUT' });
    const running = [downstream.busy(100), downstream.busy(100)];
    await expect(downstream.busy(100)).rejects.toMatchObject({ code: 'BULKHEAD_FULL' });

    const scrape = new Scrape(await registry.metrics());
    expect(
      scrape.value('app_resilience_retries_total', { policy: 'Downstream.flaky', outcome: 'retried' }),
    ).toBe(2);
    expect(
      scrape.value('app_resilience_retries_total', { policy: 'Downstream.flaky', outcome: 'exhausted' }),
    ).toBe(1);
    expect(
      scrape.value('app_resilience_rejected_total', { policy: 'Downstream.limited', reason: 'rate_limited' }),
    ).toBe(1);
    expect(
      scrape.value('app_resilience_rejected_total', { policy: 'Downstream.slow', reason: 'timeout' }),
    ).toBe(1);
    expect(
      scrape.value('app_resilience_rejected_total', { policy: 'Downstream.busy', reason: 'bulkhead_full' }),
    ).toBe(1);
    expect(scrape.value('app_resilience_bulkhead_active', { policy: 'Downstream.busy' })).toBe(1);
    expect(scrape.value('app_resilience_bulkhead_queued', { policy: 'Downstream.busy' })).toBe(1);
    await Promise.all(running);
    const after = new Scrape(await registry.metrics());
    expect(after.value('app_resilience_bulkhead_active', { policy: 'Downstream.busy' })).toBe(0);
    await t.close();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('should count as exhausted a retry given up because the error asks for a wait above maxDelay', async () => {
    const registry = new Registry();
    const t = await createApp({ providers: [Downstream] }, { metrics: { registry } });

    await expect(t.app.get(Downstream).throttled()).rejects.toMatchObject({ retryAfterMs: 60_000 });

    const scrape = new Scrape(await registry.metrics());
    expect(scrape.series('resilience_retries_total', { policy: 'Downstream.throttled' })).toEqual([
      'outcome=budget_exhausted,policy=Downstream.throttled 0',
      'outcome=exhausted,policy=Downstream.throttled 1',
      'outcome=retried,policy=Downstream.throttled 0',
    ]);
  });

  /*
   * increase() and rate() count an event only after a sample without it: a series that first
   * appears at 1 hides it (the docs' own budget_exhausted query missed a policy's first one).
   */
  it("should publish at 0 from the first scrape what each policy's protections can count, and again after resetMetrics()", async () => {
    const registry = new Registry();
    const t = await createApp({ providers: [Downstream] }, { metrics: { registry } });
    const counters = (scrape: Scrape) => [
      ...scrape.series('resilience_retries_total'),
      ...scrape.series('resilience_rejected_total'),
    ];
    const atZero = [
      'outcome=budget_exhausted,policy=Downstream.flaky 0',
      'outcome=budget_exhausted,policy=Downstream.throttled 0',
      'outcome=exhausted,policy=Downstream.flaky 0',
      'outcome=exhausted,policy=Downstream.throttled 0',
      'outcome=retried,policy=Downstream.flaky 0',
      'outcome=retried,policy=Downstream.throttled 0',
      'policy=Downstream.busy,reason=bulkhead_full 0',
      'policy=Downstream.limited,reason=rate_limited 0',
      'policy=Downstream.slow,reason=timeout 0',
    ];

    expect(counters(new Scrape(await registry.metrics()))).toEqual(atZero);

    await t.app.get(Downstream).limited();
    await expect(t.app.get(Downstream).limited()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(
      new Scrape(await registry.metrics()).value('resilience_rejected_total', {
        policy: 'Downstream.limited',
        reason: 'rate_limited',
      }),
    ).toBe(1);

    registry.resetMetrics();
    expect(counters(new Scrape(await registry.metrics()))).toEqual(atZero);

    await t.close();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('should take its series away when it closes, leaving those of an app that shares the registry', async () => {
    const registry = new Registry();
    const a = await createApp({ providers: [Downstream] }, { metrics: { registry } });
    @Injectable()
    class Other {
      @RateLimit({ limit: 1, interval: 60_000 })
      async limited(): Promise<string> {
        return 'ok';
      }
    }
    const b = await createApp({ providers: [Other] }, { metrics: { registry } });
    await a.app.get(Downstream).limited();
    await expect(a.app.get(Downstream).limited()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await b.app.get(Other).limited();
    await expect(b.app.get(Other).limited()).rejects.toMatchObject({ code: 'RATE_LIMITED' });

    await a.close();
    const scrape = await registry.metrics();
    expect(scrape).not.toContain('policy="Downstream.limited"');
    expect(scrape).toContain('resilience_rejected_total{policy="Other.limited",reason="rate_limited"} 1');
  });
});
