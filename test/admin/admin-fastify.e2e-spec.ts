/**
 * The admin API on `@nestjs/platform-fastify` over real HTTP: its guards, the actor, the
 * actions, the audit log and dead letters, and bodies Fastify parses differently from Express
 * (content-type rules, empty bodies, `text/plain`). admin-api.e2e-spec.ts runs it on Express.
 */
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  type INestApplication,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { runCli } from '../cli/cli-runner';
import { ADMIN_TOKEN, baseUrl, closeApp, createAdminApp, HeaderUserGuard } from './admin-app.fixture';

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const fastify = () => new FastifyAdapter();

const notJson = (type: string) =>
  `Unsupported content-type "${type}"; expected application/json (or no body), which another site's form cannot send`;

describe('Admin API on Fastify', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await closeApp(app);
    app = undefined;
  });

  async function start(
    admin: Parameters<typeof createAdminApp>[0] = { token: ADMIN_TOKEN },
    options: Parameters<typeof createAdminApp>[1] = {},
  ): Promise<ReturnType<typeof request>> {
    app = await createAdminApp(admin, { adapter: fastify, ...options });
    return request(app.getHttpServer());
  }

  const state = (name: string) => app!.get(BreakerRegistry).get(name).state;

  describe('with a token', () => {
    it('answers 401 without the token or with a wrong one, and changes nothing', async () => {
      const http = await start();

      const missing = await http.get('/resilience/breakers').expect(401);
      expect(missing.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Missing admin token: send the header "Authorization: Bearer <token>"',
      });
      await http.get('/resilience/breakers').set('Authorization', 'Bearer wrong').expect(401);
      await http.post('/resilience/breakers/payments/trip').send({ reason: 'x' }).expect(401);
      expect(state('payments')).toBe('closed');
    });

    it('lists and shows breakers, a per-key one under its URL-encoded full name', async () => {
      const http = await start();
      app!.get(BreakerRegistry).get('llm', 'tenant-a');

      const all = await http.get('/resilience/breakers').set(auth).expect(200);
      expect(all.body.map((b: { name: string }) => b.name)).toEqual(['payments', 'llm', 'llm#tenant-a']);
      const keyed = await http.get('/resilience/breakers/llm%23tenant-a').set(auth).expect(200);
      expect(keyed.body).toMatchObject({ name: 'llm#tenant-a', state: 'closed' });
      expect((await http.get('/resilience/breakers/nope').set(auth).expect(404)).body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'Unknown circuit breaker "nope"',
        breaker: 'nope',
      });
    });

    it('trips, resets and disables, recording the token as the actor in the audit log', async () => {
      const http = await start();

      const tripped = await http
        .post('/resilience/breakers/payments/trip')
        .set(auth)
        .send({ reason: 'provider incident #4711' })
        .expect(200);
      expect(tripped.body).toMatchObject({ name: 'payments', state: 'forced_open' });
      const refused = await http.post('/resilience/breakers/payments/reset').set(auth).send({}).expect(409);
      expect(refused.body).toMatchObject({
        statusCode: 409,
        breaker: 'payments',
        retryAfterMs: expect.any(Number),
      });
      await http
        .post('/resilience/breakers/payments/reset')
        .set(auth)
        .send({ reason: 'fixed', force: true })
        .expect(200);
      // Without a body and without a content type, as curl -X POST sends it.
      await http.post('/resilience/breakers/llm/reset').set(auth).expect(200);
      await http.post('/resilience/breakers/llm/disable').set(auth).send({ reason: 'flaps' }).expect(200);

      const audit = await http.get('/resilience/audit?limit=10').set(auth).expect(200);
      expect(audit.body.map((e: { action: string; breaker: string }) => `${e.action} ${e.breaker}`)).toEqual([
        'disable llm',
        'reset llm',
        'reset payments',
        'reset payments', // the one refused within the cooldown
        'trip payments',
      ]);
      expect(audit.body.every((e: { actor: string }) => e.actor === 'token')).toBe(true);
      expect(state('payments')).toBe('closed');
      expect(state('llm')).toBe('disabled');
    });

    it.each([
      ['trip without a reason', 'trip', {}, 'reason: expected a non-empty string'],
      ['reset with force as a string', 'reset', { force: 'yes' }, 'force: expected true or false'],
      [
        'reset with a misspelt field',
        'reset',
        { forced: true },
        'unknown field "forced"; expected "reason", "force"',
      ],
      ['a body that is an array', 'trip', ['x'], 'body: expected a JSON object'],
      ['a body that is a string', 'trip', '"drill"', 'body: expected a JSON object'],
    ])('answers 400 to %s', async (_case, action, body, message) => {
      const http = await start();

      const res = await http
        .post(`/resilience/breakers/payments/${action}`)
        .set(auth)
        .set('content-type', 'application/json')
        .send(typeof body === 'string' ? body : JSON.stringify(body))
        .expect(400);

      expect(res.body.message).toContain(message);
      expect(state('payments')).toBe('closed');
    });

    it('answers 400 to the audit query limit=0 and to a repeated breaker filter', async () => {
      const http = await start();
      expect((await http.get('/resilience/audit?limit=0').set(auth).expect(400)).body.message).toBe(
        'limit: expected a whole number from 1 to 1000',
      );
      expect(
        (await http.get('/resilience/audit?breaker=a&breaker=b').set(auth).expect(400)).body.message,
      ).toBe('breaker: expected one breaker name');
    });
  });

  describe('given a body that is not JSON', () => {
    it.each([
      ['application/x-www-form-urlencoded', 'reason=csrf'],
      ['text/plain', '{"reason":"csrf"}'],
      ['text/plain; charset=utf-8', '{"reason":"csrf"}'],
    ])('refuses %s with 415, as another site’s form would send it', async (type, body) => {
      const http = await start();

      const res = await http
        .post('/resilience/breakers/payments/trip')
        .set(auth)
        .set('content-type', type)
        .send(body)
        .expect(415);

      expect(res.body.message).toBe(notJson(type));
      expect(state('payments')).toBe('closed');
    });

    it.each(['multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream'])(
      'refuses %s with 415 (Fastify has no parser for it), before the token guard',
      async (type) => {
        const http = await start();

        for (const headers of [auth, {}])
          await http
            .post('/resilience/breakers/payments/trip')
            .set(headers)
            .set('content-type', type)
            .send('--x\r\nContent-Disposition: form-data; name="reason"\r\n\r\ncsrf\r\n--x--')
            .expect(415);

        expect(state('payments')).toBe('closed');
      },
    );

    it('refuses malformed JSON and JSON that would pollute prototypes with 400', async () => {
      const http = await start();

      for (const body of ['{"reason":', '{"reason":"x","__proto__":{"admin":true}}'])
        await http
          .post('/resilience/breakers/payments/trip')
          .set(auth)
          .set('content-type', 'application/json')
          .send(body)
          .expect(400);

      expect(state('payments')).toBe('closed');
    });

    it('takes JSON with a charset or in capitals', async () => {
      const http = await start();

      for (const type of ['application/json; charset=utf-8', 'Application/JSON'])
        await http
          .post('/resilience/breakers/payments/disable')
          .set(auth)
          .set('content-type', type)
          .send('{"reason":"json"}')
          .expect(200);
    });

    it("answers 400 to a JSON content type with an empty body (Fastify's JSON parser), changing nothing", async () => {
      const http = await start();
      await http.post('/resilience/breakers/llm/trip').set(auth).send({ reason: 'incident' }).expect(200);

      await http
        .post('/resilience/breakers/llm/reset')
        .set(auth)
        .set('content-type', 'application/json')
        .send('')
        .expect(400);

      expect(state('llm')).toBe('forced_open');
    });
  });

  describe('given a per-key breaker whose full name is over 100 characters', () => {
    const name = `llm#${'k'.repeat(150)}`;

    it("answers 414 on Fastify's default maxParamLength (100), reaching no breaker", async () => {
      const http = await start();
      app!.get(BreakerRegistry).get('llm', 'k'.repeat(150));

      await http
        .get(`/resilience/breakers/${encodeURIComponent(name)}`)
        .set(auth)
        .expect(414);
      await http
        .post(`/resilience/breakers/${encodeURIComponent(name)}/trip`)
        .set(auth)
        .send({ reason: 'x' })
        .expect(414);

      expect(app!.get(BreakerRegistry).find(name)?.state).toBe('closed');
    });

    it('shows and trips it once the adapter takes longer parameters', async () => {
      app = await createAdminApp(
        { token: ADMIN_TOKEN },
        { adapter: () => new FastifyAdapter({ maxParamLength: 1_000 }) },
      );
      const http = request(app.getHttpServer());
      app.get(BreakerRegistry).get('llm', 'k'.repeat(150));

      const shown = await http
        .get(`/resilience/breakers/${encodeURIComponent(name)}`)
        .set(auth)
        .expect(200);
      expect(shown.body).toMatchObject({ name, state: 'closed' });
      await http
        .post(`/resilience/breakers/${encodeURIComponent(name)}/trip`)
        .set(auth)
        .send({ reason: 'one tenant' })
        .expect(200);
      expect(app.get(BreakerRegistry).find(name)?.state).toBe('forced_open');
    });
  });

  describe('with the app guard', () => {
    it('records the principal the guard put on the request as the actor, and answers 403 when it refuses', async () => {
      const http = await start({ guard: HeaderUserGuard });

      await http.get('/resilience/breakers').expect(403);
      await http
        .post('/resilience/breakers/payments/trip')
        .set('x-user', 'alice')
        .send({ reason: 'drill' })
        .expect(200);

      const audit = await http.get('/resilience/audit').set('x-user', 'alice').expect(200);
      expect(audit.body[0]).toMatchObject({ action: 'trip', actor: 'alice', reason: 'drill' });
    });

    it('requires both the guard and the token when both are given', async () => {
      const http = await start({ guard: HeaderUserGuard, token: ADMIN_TOKEN });

      await http.get('/resilience/breakers').set('x-user', 'alice').expect(401);
      await http.get('/resilience/breakers').set(auth).expect(403);
      await http.get('/resilience/breakers').set(auth).set('x-user', 'alice').expect(200);
    });
  });

  it("lets an app's own global exception filter shape the admin API's errors", async () => {
    @Catch()
    class WrappingFilter implements ExceptionFilter {
      catch(exception: unknown, host: ArgumentsHost): void {
        const status = exception instanceof HttpException ? exception.getStatus() : 500;
        const body = exception instanceof HttpException ? exception.getResponse() : {};
        void host
          .switchToHttp()
          .getResponse<FastifyReply>()
          .status(status)
          .send({ app: 'shop', status, body });
      }
    }
    const http = await start({ token: ADMIN_TOKEN }, { filter: new WrappingFilter() });

    const missing = await http.get('/resilience/breakers').expect(401);
    expect(missing.body).toMatchObject({ app: 'shop', status: 401, body: { statusCode: 401 } });
    const form = await http
      .post('/resilience/breakers/payments/trip')
      .set(auth)
      .set('content-type', 'text/plain')
      .send('reason=csrf')
      .expect(415);
    expect(form.body).toMatchObject({ app: 'shop', status: 415, body: { message: notJson('text/plain') } });
    // Fastify's own parsers' refusals reach the filter too.
    const multipart = await http
      .post('/resilience/breakers/payments/trip')
      .set(auth)
      .set('content-type', 'multipart/form-data; boundary=x')
      .send('--x--')
      .expect(415);
    expect(multipart.body).toMatchObject({ app: 'shop', status: 415 });
    const empty = await http
      .post('/resilience/breakers/payments/reset')
      .set(auth)
      .set('content-type', 'application/json')
      .send('')
      .expect(400);
    expect(empty.body).toMatchObject({ app: 'shop', status: 400 });
  });

  describe('dead letters', () => {
    const declined = (): Error => Object.assign(new Error('card declined'), { code: 'CARD_DECLINED' });

    it('lists, shows, replays and purges them, answering 404 and 502 as on Express', async () => {
      const http = await start();
      const deadLetters = app!.get(DeadLetters);
      deadLetters.registerReplayer('payments', () => undefined);
      deadLetters.registerReplayer('emails', () => Promise.reject(declined()));
      const first = await deadLetters.record('payments', ['order-1'], declined());
      const second = await deadLetters.record('emails', ['welcome'], declined());

      expect((await http.get('/resilience/dead-letters').set(auth).expect(200)).body).toEqual([
        second,
        first,
      ]);
      expect((await http.get(`/resilience/dead-letters/${first.id}`).set(auth).expect(200)).body).toEqual(
        first,
      );
      await http.get('/resilience/dead-letters/999').set(auth).expect(404);
      expect(
        (await http.post(`/resilience/dead-letters/${first.id}/replay`).set(auth).expect(200)).body,
      ).toEqual({
        id: first.id,
        policy: 'payments',
        outcome: 'succeeded',
      });
      expect(
        (await http.post(`/resilience/dead-letters/${second.id}/replay`).set(auth).expect(502)).body,
      ).toMatchObject({
        statusCode: 502,
        outcome: 'failed',
      });
      expect(
        (await http.delete('/resilience/dead-letters?policy=emails').set(auth).expect(200)).body,
      ).toEqual({
        purged: 1,
      });
    });
  });

  describe('through the CLI', () => {
    it('shows, trips and resets a breaker', async () => {
      app = await createAdminApp({ token: ADMIN_TOKEN }, { adapter: fastify, listen: true });
      const env = { NEST_RESILIENCE_URL: `${baseUrl(app)}/resilience`, NEST_RESILIENCE_TOKEN: ADMIN_TOKEN };

      expect((await runCli(['trip', 'payments', '--reason', 'drill'], env)).code).toBe(0);
      expect(state('payments')).toBe('forced_open');
      expect((await runCli(['reset', 'payments', '--force'], env)).code).toBe(0);
      expect(state('payments')).toBe('closed');
      const status = await runCli(['status', 'payments'], env);
      expect(status).toMatchObject({ code: 0, stdout: expect.stringContaining('payments') });
      expect((await runCli(['status', 'nope'], env)).stderr).toBe(
        'nest-resilience: Unknown circuit breaker "nope"\n',
      );
    });
  });
});
