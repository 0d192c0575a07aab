import type { INestApplication } from '@nestjs/common';
import { register } from 'prom-client';
import request from 'supertest';
import { startPaymentsHostsApp } from '../support/payments-hosts-app';
import { Scrape } from './metrics-scrape';

const TRANSITIONS = 'circuit_breaker_transitions_total';
const KEYED_TRANSITIONS = 'circuit_breaker_keyed_transitions_total';

let app: INestApplication;

beforeEach(async () => {
  app = await startPaymentsHostsApp();
});

afterEach(async () => {
  await app.close();
  register.clear();
});

const scrape = async () => new Scrape((await request(app.getHttpServer()).get('/metrics').expect(200)).text);

/** The moves a breaker makes by itself, each at `value`, as `Scrape.series` lists them. */
const automaticMoves = (breaker: string, value: (from: string, to: string) => number) =>
  [
    ['closed', 'open'],
    ['half_open', 'closed'],
    ['half_open', 'open'],
    ['open', 'half_open'],
  ].map(([from, to]) => `breaker=${breaker},from=${from},to=${to} ${value(from, to)}`);

/*
 * increase() and rate() need a sample before the first move: a series that first appears at 1
 * hides that move, so CircuitBreakerFlapping (more than 6 moves into or out of closed in 10
 * minutes) missed up to two of a breaker's first cycles after each start.
 */
describe('Transition counters of the moves a breaker makes by itself', () => {
  it('are published at 0 from start-up, so increase() counts the first opening', async () => {
    const before = await scrape();
    expect(before.series(TRANSITIONS, { breaker: 'payments' })).toEqual(automaticMoves('payments', () => 0));

    await request(app.getHttpServer()).get('/charge').query({ fail: 'yes' }).expect(503);

    const after = await scrape();
    expect(after.series(TRANSITIONS, { breaker: 'payments' })).toEqual(
      automaticMoves('payments', (from, to) => (from === 'closed' && to === 'open' ? 1 : 0)),
    );
  });

  it('are published at 0 in the summary of per-key breakers from the first key', async () => {
    await request(app.getHttpServer()).get('/proxy').query({ host: 'a.example' }).expect(200);

    expect((await scrape()).series(KEYED_TRANSITIONS)).toEqual(automaticMoves('hosts', () => 0));

    await request(app.getHttpServer()).get('/proxy').query({ host: 'b.example', fail: 'yes' }).expect(503);

    expect((await scrape()).series(KEYED_TRANSITIONS)).toEqual(
      automaticMoves('hosts', (from, to) => (from === 'closed' && to === 'open' ? 1 : 0)),
    );
  });
});
