import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { register } from 'prom-client';
import request from 'supertest';
import { AppModule } from '../src/app.module';
import type { SampleConfig } from '../src/sample-config';
import { DEGRADED_CHECK_STATUS } from '../../test/support/peers';

// Long enough for the "open" checks below to run inside one open period on a busy machine.
const OPEN_MS = 1_000;
// Generous for a call to the app's own port; the slow downstream answers after twice this.
const TIMEOUT_MS = 1_000;
const ADMIN_TOKEN = 'test-admin-token';

/** The README walkthrough, step by step, against the real app over real HTTP. */
describe('sample app walkthrough', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    const config: SampleConfig = {
      port: 0,
      openDurationMs: OPEN_MS,
      failureThreshold: 2,
      timeoutMs: TIMEOUT_MS,
      store: { type: 'memory' },
      adminToken: ADMIN_TOKEN,
    };
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    // The quote service calls the downstream on the app's own port: it must really listen.
    await app.listen(0, '127.0.0.1');
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app?.close();
    register.clear();
  });

  const setMode = (mode: string) => http.post('/downstream/mode').send({ mode }).expect(200, { mode });
  const breakerStates = async () => {
    const { body } = await http.get('/health/ready');
    const breakers = body.details.circuit_breakers.breakers as Record<string, { state: string }>;
    return Object.fromEntries(Object.entries(breakers).map(([name, { state }]) => [name, state]));
  };

  it('serves fresh quotes and reports ready while the downstream is up', async () => {
    const fresh = await http.get('/quotes/42').expect(200);
    expect(fresh.body).toMatchObject({ id: '42', currency: 'EUR', stale: false });
    await http.get('/quotes/42/direct').expect(200);
    const ready = await http.get('/health/ready').expect(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.details.circuit_breakers).toMatchObject({ total: 3, closed: 3 });
    await http.get('/health/live').expect(200);
  });

  it('serves the last quote seen while the downstream fails, and keeps serving it once the breaker opens', async () => {
    const { body: fresh } = await http.get('/quotes/42').expect(200);
    await setMode('fail');
    for (let call = 0; call < 2; call++) {
      const stale = await http.get('/quotes/42').expect(200);
      expect(stale.body).toEqual({ ...fresh, stale: true, staleBecause: 'The downstream answered 500' });
    }
    const rejected = await http.get('/quotes/42').expect(200);
    expect(rejected.body).toMatchObject({ asOf: fresh.asOf, stale: true });
    expect(rejected.body.staleBecause).toMatch(/"downstream" is open/);
  });

  it('reports the open breaker as degraded on /health/ready', async () => {
    const ready = await http.get('/health/ready').expect(200);
    expect(ready.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(ready.body.details.circuit_breakers.breakers.downstream).toMatchObject({ state: 'open' });
  });

  it('answers 503 with Retry-After on the route without a fallback once its breaker opens', async () => {
    await http.get('/quotes/42/direct').expect(502);
    await http.get('/quotes/42/direct').expect(502);
    const rejected = await http.get('/quotes/42/direct').expect(503);
    expect(rejected.headers['retry-after']).toBe('1');
    expect(rejected.body).toMatchObject({ statusCode: 503, breaker: 'downstream-direct' });
    expect(rejected.body.retryAfterMs).toBeGreaterThan(0);
  });

  it('is not ready while the critical breaker is open', async () => {
    const ready = await http.get('/health/ready').expect(503);
    expect(ready.body.status).toBe('error');
    expect(ready.body.details.circuit_breakers.breakers['downstream-direct']).toMatchObject({
      state: 'open',
      critical: true,
    });
  });

  it('publishes the open state and the rejections to Prometheus', async () => {
    const { text } = await http.get('/metrics').expect(200);
    expect(text).toContain('circuit_breaker_state{breaker="downstream",state="open"} 1');
    expect(text).toContain('circuit_breaker_state{breaker="downstream",state="closed"} 0');
    expect(text).toContain('circuit_breaker_rejected_total{breaker="downstream",reason="open"} 1');
    expect(text).toContain('circuit_breaker_rejected_total{breaker="downstream-direct",reason="open"} 1');
    expect(text).toContain(
      'circuit_breaker_transitions_total{breaker="downstream",from="closed",to="open"} 1',
    );
  });

  it('lets a trial call through once the open period has passed, and closes again', async () => {
    await setMode('ok');
    await eventually(
      breakerStates,
      (states) => states.downstream === 'half_open' && states['downstream-direct'] === 'half_open',
    );
    const fresh = await http.get('/quotes/42').expect(200);
    expect(fresh.body.stale).toBe(false);
    await http.get('/quotes/42/direct').expect(200);
    expect(await breakerStates()).toEqual({
      downstream: 'closed',
      'downstream-direct': 'closed',
      'downstream-retried': 'closed',
    });
    const ready = await http.get('/health/ready').expect(200);
    expect(ready.body.status).toBe('ok');
  });

  it('serves the last quote seen when the downstream is too slow, and counts a timeout', async () => {
    await setMode('slow');
    const stale = await http.get('/quotes/42').expect(200);
    expect(stale.body).toMatchObject({
      stale: true,
      staleBecause: `Circuit breaker "downstream": call timed out after ${TIMEOUT_MS} ms`,
    });
    const { text } = await http.get('/metrics').expect(200);
    expect(text).toContain('circuit_breaker_calls_total{breaker="downstream",outcome="timeout"} 1');
    await setMode('ok');
  });

  it('lets an operator with the admin token trip and reset a breaker', async () => {
    const trip = `/resilience/breakers/downstream/trip`;
    await http.post(trip).send({ reason: 'maintenance' }).expect(401);
    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const tripped = await http.post(trip).set(auth).send({ reason: 'maintenance' }).expect(200);
    expect(tripped.body).toMatchObject({ name: 'downstream', state: 'forced_open' });
    const stale = await http.get('/quotes/42').expect(200);
    expect(stale.body).toMatchObject({ stale: true });
    const reset = await http
      .post('/resilience/breakers/downstream/reset')
      .set(auth)
      .send({ reason: 'maintenance over', force: true })
      .expect(200);
    expect(reset.body).toMatchObject({ state: 'closed' });
    const fresh = await http.get('/quotes/42').expect(200);
    expect(fresh.body.stale).toBe(false);
  });

  it('protects a plain HttpService call by its origin: 503 once the downstream’s origin breaker opens', async () => {
    await setMode('fail');
    await http.get('/partner/quotes/7').expect(500);
    await http.get('/partner/quotes/7').expect(500);

    const rejected = await http.get('/partner/quotes/7').expect(503);

    const { port } = app.getHttpServer().address() as AddressInfo;
    expect(rejected.body).toMatchObject({ breaker: `http:http://127.0.0.1:${port}` });
    expect(rejected.headers['retry-after']).toBeDefined();
  });

  it('retries through the named policy, then serves its fallback', async () => {
    await setMode('fail');

    const { body } = await http.get('/policies/quotes/42').expect(200);

    expect(body).toMatchObject({ id: '42', unavailable: true });
    const metrics = (await http.get('/metrics').expect(200)).text;
    expect(metrics).toContain('resilience_retries_total{policy="quotes",outcome="retried"} 2');
    await setMode('ok');
  });

  it('answers 429, 503 and 504 from the rate limit, the bulkhead and the total timeout', async () => {
    for (let i = 0; i < 5; i++) await http.get('/policies/search').expect(200);
    const limited = await http.get('/policies/search').expect(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', policy: 'PoliciesController.search' });
    expect(limited.headers['retry-after']).toBeDefined();

    const running = http.get('/policies/report').then((r) => r.status);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const full = await http.get('/policies/report').expect(503);
    expect(full.body).toMatchObject({ code: 'BULKHEAD_FULL', retryAfterMs: 1_000 });
    expect(full.headers['retry-after']).toBe('1');
    expect(await running).toBe(200);

    const slow = await http.get('/policies/slow').expect(504);
    expect(slow.body).toMatchObject({ code: 'TIMEOUT', policy: 'PoliciesController.slow', timeoutMs: 500 });
  });
});

/** Polls until `done` holds, for at most a few open periods. */
async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10 * OPEN_MS;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still not there: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, OPEN_MS / 10));
  }
}
