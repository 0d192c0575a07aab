/**
 * The admin API as a careless operator uses it with curl: typos in query strings, reasons pasted
 * from a log. On Express and on Fastify, over real HTTP.
 */
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import type { HttpAdapterFactory } from '../support/http-adapter';
import { ADMIN_TOKEN, closeApp, createAdminApp } from './admin-app.fixture';

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const declined = (): Error => new Error('card declined');

describe.each([
  ['Express', undefined],
  ['Fastify', () => new FastifyAdapter()],
] as Array<[string, HttpAdapterFactory | undefined]>)('Admin API on %s, used carelessly', (_, adapter) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let deadLetters: DeadLetters;

  beforeEach(async () => {
    app = await createAdminApp({ token: ADMIN_TOKEN }, { adapter });
    http = request(app.getHttpServer());
    deadLetters = app.get(DeadLetters);
  });

  afterEach(() => closeApp(app));

  it('should refuse a purge whose filter is misspelt, naming it, rather than purge every policy', async () => {
    await deadLetters.record('payments', ['order-1'], declined());
    await deadLetters.record('emails', ['welcome'], declined());

    for (const search of ['polcy=emails', 'policy[name]=emails', 'policy=emails&dry=1']) {
      const res = await http.delete(`/resilience/dead-letters?${search}`).set(auth).expect(400);
      expect(res.body.message).toMatch(
        /^unknown query parameter "(polcy|policy\[name\]|dry)"; expected "policy"$/,
      );
    }

    expect(await deadLetters.list()).toHaveLength(2);
    expect((await http.delete('/resilience/dead-letters?policy=emails').set(auth).expect(200)).body).toEqual({
      purged: 1,
    });
  });

  it('should refuse unknown query parameters on every route, saying which it takes', async () => {
    const letter = await deadLetters.record('payments', ['order-1'], declined());
    const cases: Array<[() => request.Test, string]> = [
      [() => http.get('/resilience/breakers?scop=fleet'), 'unknown query parameter "scop"; expected "scope"'],
      [() => http.get('/resilience/breakers/payments?x=1'), 'unknown query parameter "x"; expected none'],
      [
        () => http.get('/resilience/audit?braker=payments&limit=5'),
        'unknown query parameter "braker"; expected "breaker", "limit"',
      ],
      [
        () => http.get('/resilience/dead-letters?polcy=payments'),
        'unknown query parameter "polcy"; expected "policy", "limit"',
      ],
      [
        () => http.get(`/resilience/dead-letters/${letter.id}?full=1`),
        'unknown query parameter "full"; expected none',
      ],
      [
        () => http.post('/resilience/breakers/payments/reset?force=true').send({}),
        'unknown query parameter "force"; expected none',
      ],
      [
        () => http.post('/resilience/breakers/payments/trip?reason=x').send({ reason: 'drill' }),
        'unknown query parameter "reason"; expected none',
      ],
      [
        () => http.post(`/resilience/dead-letters/${letter.id}/replay?force=1`),
        'unknown query parameter "force"; expected none',
      ],
    ];
    for (const [send, message] of cases) {
      const res = await send().set(auth);
      expect({ status: res.status, message: res.body.message }).toEqual({ status: 400, message });
    }
    expect(app.get(BreakerRegistry).get('payments').state).toBe('closed');
    expect(await deadLetters.list()).toHaveLength(1);
  });
  it('should refuse a reason longer than 1,000 characters (a log pasted in), saying how long it was', async () => {
    const pasted = 'x'.repeat(1_001);
    for (const action of ['trip', 'disable', 'reset']) {
      const res = await http
        .post(`/resilience/breakers/payments/${action}`)
        .set(auth)
        .send({ reason: pasted })
        .expect(400);
      expect(res.body.message).toBe(
        'reason: expected a non-empty string of at most 1000 characters saying why (it goes to the audit log), not 1001',
      );
    }
    expect((await http.get('/resilience/audit').set(auth).expect(200)).body).toEqual([]);

    await http
      .post('/resilience/breakers/payments/trip')
      .set(auth)
      .send({ reason: ` ${'x'.repeat(1_000)} ` })
      .expect(200);
  });
  it('should record the token as the actor whatever the request claims in headers, query or body', async () => {
    await http
      .post('/resilience/breakers/payments/trip')
      .set(auth)
      .set({ 'x-user': 'mallory', 'x-forwarded-user': 'mallory', 'x-actor': 'mallory' })
      .send({ reason: 'drill' })
      .expect(200);
    await http
      .post('/resilience/breakers/payments/trip')
      .set(auth)
      .send({ reason: 'drill', actor: 'mallory', user: { username: 'mallory' } })
      .expect(400);
    await http
      .post('/resilience/breakers/payments/trip?actor=mallory')
      .set(auth)
      .send({ reason: 'x' })
      .expect(400);
    await http
      .post('/resilience/breakers/payments/trip')
      .set(auth)
      .send('{"reason":"x","__proto__":{"actor":"mallory"}}')
      .set('content-type', 'application/json')
      .expect(400);

    const audit = (await http.get('/resilience/audit').set(auth).expect(200)).body as Array<{
      actor: string;
    }>;
    expect(audit.map(({ actor }) => actor)).toEqual(['token']);
    expect(({} as { actor?: unknown }).actor).toBeUndefined();
  });
  it('should say what is wrong with an Authorization header that is not "Bearer <token>", never echoing it', async () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'Missing admin token: send the header "Authorization: Bearer <token>"'],
      [
        'Basic b3BzOnMzY3JldA==',
        'Unsupported authorization scheme "Basic": expected the header "Authorization: Bearer <token>"',
      ],
      [
        `Bearer ${ADMIN_TOKEN} extra`,
        'Malformed admin token: expected the header "Authorization: Bearer <token>", the token alone after "Bearer " (no spaces in it)',
      ],
      [
        'Bearer',
        'Malformed admin token: expected the header "Authorization: Bearer <token>", the token alone after "Bearer " (no spaces in it)',
      ],
    ];
    for (const [header, message] of cases) {
      const sent = http.get('/resilience/breakers');
      const res = await (header === undefined ? sent : sent.set('authorization', header)).expect(401);
      expect(res.body.message).toBe(message);
      expect(JSON.stringify(res.body)).not.toContain('b3BzOnMzY3JldA');
    }
  });
});
