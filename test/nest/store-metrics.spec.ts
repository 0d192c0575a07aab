import { Registry } from 'prom-client';
import { BreakerRegistry } from '../../src/core/registry';
import { BreakerMetrics } from '../../src/nest/breaker.metrics';
import type { BreakerStore, StoreStats } from '../../src/stores/breaker-store';
import { MemoryStore } from '../../src/stores/memory.store';
import { Scrape } from './metrics-scrape';

/** A store that reports what the test says it counts. */
function countingStore(stats: StoreStats): BreakerStore {
  const store = new MemoryStore();
  return Object.assign(store, { stats: () => stats });
}

function publish(store: BreakerStore) {
  const prom = new Registry();
  const registry = new BreakerRegistry({ breakers: { payments: {} }, auditLog: store.auditLog });
  const publisher = new BreakerMetrics(registry, { metrics: { registry: prom } }, store);
  publisher.onModuleInit();
  return { scrape: async () => new Scrape(await prom.metrics()), stop: () => publisher.onModuleDestroy() };
}

describe('store metrics', () => {
  it('should publish whether the store is up, its failed commands by operation, and the live instances', async () => {
    const stats: StoreStats = { up: true, errors: { claim: 0 }, instances: 3 };
    const { scrape, stop } = publish(countingStore(stats));

    let s = await scrape();
    // At 0 before its first error, so that increase() counts that error.
    expect(s.value('circuit_breaker_store_errors_total', { operation: 'claim' })).toBe(0);
    expect([s.value('circuit_breaker_store_up'), s.value('circuit_breaker_fleet_instances')]).toEqual([1, 3]);
    Object.assign(stats, { up: false, errors: { claim: 2, heartbeat: 1 }, instances: 2 });
    s = await scrape();
    expect(s.value('circuit_breaker_store_up')).toBe(0);
    expect(s.value('circuit_breaker_store_errors_total', { operation: 'claim' })).toBe(2);
    expect(s.value('circuit_breaker_store_errors_total', { operation: 'heartbeat' })).toBe(1);
    expect(s.value('circuit_breaker_fleet_instances')).toBe(2);
    Object.assign(stats, { errors: { claim: 5, heartbeat: 1 } });
    expect((await scrape()).value('circuit_breaker_store_errors_total', { operation: 'claim' })).toBe(5);
    stop();
  });

  it('should publish no store series for a store that counts nothing (memory, sqlite)', async () => {
    const { scrape, stop } = publish(new MemoryStore());
    const names = (await scrape()).names();
    expect(names.filter((name) => name.includes('store') || name.includes('fleet'))).toEqual([]);
    stop();
  });
});
