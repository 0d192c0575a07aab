import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { join } from 'node:path';
import { createResilientFetch } from '../../src/http/resilient-fetch';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { Scrape } from '../nest/metrics-scrape';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';
import { oneHot } from '../support/one-hot-state';
import { originStates } from '../support/origin-states';
import { DEGRADED_CHECK_STATUS } from '../support/peers';
import { SQLITE_TEST_DRIVERS, sqliteDriver } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';
import { startUpstream, type Upstream } from '../support/upstream-server';
import { HealthModule } from '../terminus/health-app.fixture';

describe.each(SQLITE_TEST_DRIVERS)(
  'origin breakers (http:<origin>) restored from a SQLite file on %s',
  (driver) => {
    const dir = useTempDir();
    let down: Upstream;
    let maintained: Upstream;
    let ok: Upstream;
    const http = { fetch: true, defaults: { failureThreshold: 1, openDuration: 600_000 } };
    const path = () => join(dir(), 'breakers.db');
    const options = (extra: ResilienceModuleRootOptions = {}): ResilienceModuleRootOptions => ({
      store: { type: 'sqlite', path: path(), driver },
      http,
      ...extra,
    });

    beforeEach(async () => {
      [down, maintained, ok] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
      down.answer(503);
    });

    afterEach(async () => {
      await closeAllApps();
      await Promise.all([down.close(), maintained.close(), ok.close()]);
    });

    /** Opens the breaker of `down` by a failing request, trips `maintained`'s, and leaves `ok`'s closed. */
    async function firstRun(extra?: ResilienceModuleRootOptions): Promise<void> {
      const first = await createApp({}, options(extra));
      expect((await fetch(`${down.origin}/quote`)).status).toBe(503);
      expect((await fetch(`${ok.origin}/quote`)).status).toBe(200);
      await first.registry.get(`http:${maintained.origin}`).trip('maintenance', 'ops');
      expect(originStates(first)).toEqual({
        [`http:${down.origin}`]: 'open',
        [`http:${ok.origin}`]: 'closed',
        [`http:${maintained.origin}`]: 'forced_open',
      });
      await first.close();
      // The trip came after the opening, but a fast runtime (Bun) saves both within one millisecond,
      // and rows saved at the same time are read in the order of their names (random ports here).
      const db = sqliteDriver(driver).open(path());
      try {
        db.prepare<[string]>(
          'UPDATE breaker_state SET saved_at = (SELECT MAX(saved_at) FROM breaker_state) + 1 WHERE name = ?',
        ).run(`http:${maintained.origin}`);
      } finally {
        db.close();
      }
    }

    const secondRun = (extra?: ResilienceModuleRootOptions): Promise<TestApp> =>
      createApp(
        { imports: [PrometheusModule.register({ defaultMetrics: { enabled: false } }), HealthModule] },
        options(extra),
      );

    it('reports the open and forced-open origins in /health after a restart, before any request to them', async () => {
      await firstRun();
      const second = await secondRun();

      const res = await second.http().get('/health/ready').expect(200);

      expect(res.body.status).toBe(DEGRADED_CHECK_STATUS);
      expect(res.body.details.circuit_breakers).toMatchObject({
        total: 2,
        closed: 0,
        open: 1,
        forced_open: 1,
      });
      expect(res.body.details.circuit_breakers.breakers).toMatchObject({
        [`http:${down.origin}`]: { state: 'open' },
        [`http:${maintained.origin}`]: { state: 'forced_open' },
      });
      // The closed origin's row is left in the file until a request needs it.
      expect(second.registry.has(`http:${ok.origin}`)).toBe(false);
    });

    it('publishes their state in /metrics after a restart, before any request to them', async () => {
      await firstRun();
      const second = await secondRun({ metrics: {} });

      const scrape = new Scrape((await second.http().get('/metrics').expect(200)).text);

      expect(scrape.series('circuit_breaker_state', { breaker: `http:${down.origin}` })).toEqual(
        oneHot(`http:${down.origin}`, 'open'),
      );
      expect(scrape.series('circuit_breaker_state', { breaker: `http:${maintained.origin}` })).toEqual(
        oneHot(`http:${maintained.origin}`, 'forced_open'),
      );
      expect(scrape.series('circuit_breaker_state', { breaker: `http:${ok.origin}` })).toEqual([]);
    });

    it('serves the restored breaker to the first request: it is refused and the origin is sent nothing', async () => {
      await firstRun();
      const sent = down.connections;
      const second = await secondRun();
      const restored = second.registry.find(`http:${down.origin}`);
      expect(restored?.state).toBe('open');

      const refused = await fetch(`${down.origin}/quote`).catch((error: unknown) => error);

      expect(refused).toMatchObject({ code: 'BREAKER_OPEN', breaker: `http:${down.origin}` });
      expect(down.connections).toBe(sent);
      expect(second.registry.get(`http:${down.origin}`)).toBe(restored);
    });

    it('brings back no more other origins than maxOrigins leaves beside the configured ones, the newest first', async () => {
      await firstRun();
      // A configured origin (never evicted) and room for one other: one of the two not closed.
      const second = await secondRun({
        http: { ...http, maxOrigins: 2, origins: { [ok.origin]: {} } },
      });

      const states = originStates(second);

      expect(states[`http:${ok.origin}`]).toBe('closed');
      expect(Object.keys(states)).toHaveLength(2);
      // The last one saved: the trip came after the opening.
      expect(states[`http:${maintained.origin}`]).toBe('forced_open');
    });

    it('brings them back when the origin breakers are made after the store attached (createResilientFetch on the module’s registry)', async () => {
      await firstRun();
      const second = await secondRun({ http: undefined });
      expect(originStates(second)).toEqual({});

      createResilientFetch(second.registry);

      expect(originStates(second)).toEqual({
        [`http:${down.origin}`]: 'open',
        [`http:${maintained.origin}`]: 'forced_open',
      });
      const res = await second.http().get('/health/ready').expect(200);
      expect(res.body.details.circuit_breakers).toMatchObject({ total: 2, open: 1, forced_open: 1 });
    });
  },
);
