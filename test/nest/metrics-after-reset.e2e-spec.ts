import type { INestApplication } from '@nestjs/common';
import { register } from 'prom-client';
import request from 'supertest';
import type { StoreStats } from '../../src/stores/breaker-store';
import { MemoryStore } from '../../src/stores/memory.store';
import { startPaymentsHostsApp } from '../support/payments-hosts-app';
import { Scrape } from './metrics-scrape';

let app: INestApplication;
/** What the app's store says it counts (as the redis store does its fleet operations). */
let stats: StoreStats;

beforeEach(async () => {
  stats = { up: true, errors: { open: 0, claim: 0 }, instances: 1 };
  app = await startPaymentsHostsApp(Object.assign(new MemoryStore(), { stats: () => stats }));
});

afterEach(async () => {
  await app.close();
  register.clear();
});

const http = () => request(app.getHttpServer());
const scrape = async () => new Scrape((await http().get('/metrics').expect(200)).text);

/** The counter series of a scrape, `name{labels}`, sorted. */
const counterSeries = (scrape: Scrape) =>
  scrape.samples
    .filter((sample) => sample.name.endsWith('_total'))
    .map((sample) => `${sample.name}${JSON.stringify(sample.labels)}`)
    .sort();

/*
 * Some apps call prom-client's register.resetMetrics() between tests or scrapes. It empties every
 * counter: the series the module publishes at 0 from start-up vanished until their next increment,
 * so increase() missed that first event again, as before they were published at 0.
 */
describe('Series published at 0, after register.resetMetrics()', () => {
  it('are published at 0 again at the next scrape, and count their next event from there', async () => {
    await http().get('/proxy').query({ host: 'a.example' }).expect(200);
    const published = counterSeries(await scrape());
    expect(published).toEqual(
      expect.arrayContaining([
        'circuit_breaker_transitions_total{"breaker":"payments","from":"closed","to":"open"}',
        'circuit_breaker_calls_total{"breaker":"payments","outcome":"failure"}',
        'circuit_breaker_rejected_total{"breaker":"payments","reason":"open"}',
        'circuit_breaker_keyed_transitions_total{"breaker":"hosts","from":"closed","to":"open"}',
        'circuit_breaker_keyed_calls_total{"breaker":"hosts","outcome":"failure"}',
        'circuit_breaker_keyed_rejected_total{"breaker":"hosts","reason":"open"}',
        'circuit_breaker_store_errors_total{"operation":"open"}',
      ]),
    );

    // Traffic moves every kind of counter; the store fails an opening twice.
    await http().get('/charge').query({ fail: 'yes' }).expect(503);
    await http().get('/charge').expect(503);
    await http().get('/proxy').query({ host: 'b.example', fail: 'yes' }).expect(503);
    stats = { ...stats, errors: { open: 2, claim: 0 } };
    await scrape();

    register.resetMetrics();

    const afterReset = await scrape();
    expect(counterSeries(afterReset)).toEqual(published);
    expect(afterReset.samples.filter((s) => s.name.endsWith('_total') && s.value !== 0)).toEqual([]);

    // The first events after the reset are counted from 0, so increase() sees them.
    await http().get('/proxy').query({ host: 'c.example', fail: 'yes' }).expect(503);
    stats = { ...stats, errors: { open: 3, claim: 0 } };
    const next = await scrape();
    expect(
      next.value('circuit_breaker_keyed_transitions_total', { breaker: 'hosts', from: 'closed', to: 'open' }),
    ).toBe(1);
    expect(next.value('circuit_breaker_keyed_calls_total', { breaker: 'hosts', outcome: 'failure' })).toBe(1);
    expect(next.value('circuit_breaker_store_errors_total', { operation: 'open' })).toBe(1);
    expect(
      next.value('circuit_breaker_transitions_total', { breaker: 'payments', from: 'closed', to: 'open' }),
    ).toBe(0);
  });

  it('keep the gauges: state, info and failure rate are read at every scrape', async () => {
    await http().get('/charge').query({ fail: 'yes' }).expect(503);
    register.resetMetrics();

    const afterReset = await scrape();
    expect(afterReset.value('circuit_breaker_state', { breaker: 'payments', state: 'open' })).toBe(1);
    expect(
      afterReset.value('circuit_breaker_info', { breaker: 'payments', critical: 'false', preset: '' }),
    ).toBe(1);
    expect(afterReset.value('circuit_breaker_failure_rate', { breaker: 'payments' })).toBe(1);
    expect(afterReset.value('circuit_breaker_store_up')).toBe(1);
  });
});
