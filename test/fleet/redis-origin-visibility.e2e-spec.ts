/**
 * Origin breakers (`http:<origin>`, members of a registry group) another instance holds open,
 * half-open, forced open or disabled through the redis store are created on every instance as
 * it reads or hears that state, within the group's bound, so its /health and /metrics show them
 * before a request of its own goes to that origin. Two real apps on one key prefix.
 */
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { createResilientFetch } from '../../src/http/resilient-fetch';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { Scrape } from '../nest/metrics-scrape';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';
import { eventually } from '../support/eventually';
import { oneHot } from '../support/one-hot-state';
import { originStates } from '../support/origin-states';
import { DEGRADED_CHECK_STATUS } from '../support/peers';
import { deleteKeys, PROPAGATION_MS, REDIS_URL, testPrefix } from '../support/redis-fixture';
import { startUpstream, type Upstream } from '../support/upstream-server';
import { HealthModule } from '../terminus/health-app.fixture';

jest.setTimeout(30_000);

describe('origin breakers (http:<origin>) another instance opened through the redis store', () => {
  let prefix: string;
  let down: Upstream;
  let maintained: Upstream;
  let ok: Upstream;
  const http = { defaults: { failureThreshold: 1, openDuration: 600_000 } };

  const options = (extra: ResilienceModuleRootOptions = {}): ResilienceModuleRootOptions => ({
    store: { type: 'redis', url: REDIS_URL, keyPrefix: prefix, commandTimeout: 2_000 },
    http,
    ...extra,
  });

  beforeEach(async () => {
    prefix = testPrefix();
    [down, maintained, ok] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
    down.answer(503);
  });

  afterEach(async () => {
    await closeAllApps();
    await Promise.all([down.close(), maintained.close(), ok.close()]);
    await deleteKeys(prefix);
  });

  /** The instance that sends the requests (createResilientFetch on the module's registry). */
  async function instanceA() {
    const app = await createApp({}, options());
    return { app, fetch: createResilientFetch(app.registry) };
  }

  /** Opens `down`'s breaker by a failing request, trips `maintained`'s, and leaves `ok`'s closed. */
  async function openAndTrip(a: { app: TestApp; fetch: typeof fetch }) {
    expect((await a.fetch(`${down.origin}/quote`)).status).toBe(503);
    expect((await a.fetch(`${ok.origin}/quote`)).status).toBe(200);
    await a.app.registry.get(`http:${maintained.origin}`).trip('maintenance', 'ops');
  }

  /** An instance serving /health and /metrics, which sends no request to any origin. */
  const instanceB = (extra: ResilienceModuleRootOptions = {}) =>
    createApp(
      { imports: [PrometheusModule.register({ defaultMetrics: { enabled: false } }), HealthModule] },
      options({ metrics: {}, ...extra }),
    );

  const scrape = async (app: TestApp) => new Scrape((await app.http().get('/metrics').expect(200)).text);

  it('appear in /health and /metrics of an instance already running as soon as it hears of them, and close with the fleet', async () => {
    const a = await instanceA();
    const b = await instanceB();
    expect(originStates(b)).toEqual({});

    await openAndTrip(a);

    await eventually(() => Object.keys(originStates(b)).length === 2, PROPAGATION_MS * 4, 20);
    expect(originStates(b)).toEqual({
      [`http:${down.origin}`]: 'open',
      [`http:${maintained.origin}`]: 'forced_open',
    });
    const res = await b.http().get('/health/ready').expect(200);
    expect(res.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(res.body.details.circuit_breakers).toMatchObject({ total: 2, open: 1, forced_open: 1 });
    const metrics = await scrape(b);
    expect(metrics.series('circuit_breaker_state', { breaker: `http:${down.origin}` })).toEqual(
      oneHot(`http:${down.origin}`, 'open'),
    );
    expect(metrics.series('circuit_breaker_state', { breaker: `http:${maintained.origin}` })).toEqual(
      oneHot(`http:${maintained.origin}`, 'forced_open'),
    );
    expect(metrics.series('circuit_breaker_state', { breaker: `http:${ok.origin}` })).toEqual([]);

    await a.app.registry.get(`http:${maintained.origin}`).reset({ reason: 'done', force: true });
    await eventually(
      () => b.registry.find(`http:${maintained.origin}`)?.state === 'closed',
      PROPAGATION_MS * 4,
      20,
    );
  });

  it('appear in /health of an instance that starts after they opened, at once, and the first request is refused with nothing sent', async () => {
    const a = await instanceA();
    await openAndTrip(a);
    const sent = down.connections;

    const b = await instanceB();

    expect(originStates(b)).toEqual({
      [`http:${down.origin}`]: 'open',
      [`http:${maintained.origin}`]: 'forced_open',
    });
    const res = await b.http().get('/health/ready').expect(200);
    expect(res.body.details.circuit_breakers.breakers).toMatchObject({
      [`http:${down.origin}`]: { state: 'open' },
      [`http:${maintained.origin}`]: { state: 'forced_open' },
    });
    const shown = b.registry.find(`http:${down.origin}`);
    const refused = await createResilientFetch(b.registry)(`${down.origin}/quote`).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BREAKER_OPEN', breaker: `http:${down.origin}` });
    expect(down.connections).toBe(sent);
    expect(b.registry.find(`http:${down.origin}`)).toBe(shown);
  });

  it('are kept within what maxOrigins leaves beside the configured origins, whichever way the instance hears of them', async () => {
    const a = await instanceA();
    await openAndTrip(a);
    // A configured origin (never evicted) and room for one other: two are not closed.
    const b = await instanceB({ http: { ...http, maxOrigins: 2, origins: { [ok.origin]: {} } } });

    const states = originStates(b);
    expect(states[`http:${ok.origin}`]).toBe('closed');
    expect(Object.keys(states)).toHaveLength(2);
    // An operator's state first: it stays until an operator acts again.
    expect(states[`http:${maintained.origin}`]).toBe('forced_open');

    const other = await startUpstream();
    try {
      other.answer(503);
      expect((await a.fetch(`${other.origin}/quote`)).status).toBe(503);
      await eventually(() => b.registry.has(`http:${other.origin}`), PROPAGATION_MS * 4, 20);
      expect(Object.keys(originStates(b))).toHaveLength(2);
      expect(originStates(b)[`http:${ok.origin}`]).toBe('closed');
    } finally {
      await other.close();
    }
  });

  it('are created when the origin breakers are made after the store attached (createResilientFetch on the module’s registry)', async () => {
    const a = await instanceA();
    await openAndTrip(a);
    const b = await instanceB({ http: undefined });
    expect(originStates(b)).toEqual({});

    createResilientFetch(b.registry, http);

    expect(originStates(b)).toEqual({
      [`http:${down.origin}`]: 'open',
      [`http:${maintained.origin}`]: 'forced_open',
    });
  });

  it('are not created on an instance whose origin breakers are not shared', async () => {
    const a = await instanceA();
    const b = await instanceB({
      http: { defaults: { ...http.defaults, shared: false } },
      breakers: { probe: {} },
    });

    await openAndTrip(a);
    // What it hears afterwards arrives after the transitions above: once the probe is heard, they were too.
    await a.app.registry.get('probe').trip('probe', 'ops');
    await eventually(() => b.registry.find('probe')?.state === 'forced_open', PROPAGATION_MS * 4, 20);

    expect(originStates(b)).toEqual({});
  });
});
