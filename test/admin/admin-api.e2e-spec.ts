import {
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  Injectable,
  Logger,
  Module,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { createAdminController } from '../../src/nest/admin/resilience-admin.controller';
import { CircuitBreakerInterceptor } from '../../src/nest/circuit-breaker.interceptor';
import { ResilienceModule } from '../../src/nest/resilience.module';
import type { AdminOptions } from '../../src/nest/resilience-options.interface';
import { ADMIN_TOKEN, HeaderUserGuard, closeApp, createAdminApp } from './admin-app.fixture';

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

describe('Admin API', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await closeApp(app);
    app = undefined;
    jest.restoreAllMocks();
  });

  describe('with a token', () => {
    let http: ReturnType<typeof request>;

    beforeEach(async () => {
      app = await createAdminApp({ token: ADMIN_TOKEN });
      http = request(app.getHttpServer());
    });

    it('lists every breaker with its snapshot', async () => {
      const res = await http.get('/resilience/breakers').set(auth).expect(200);
      expect(res.body.map((b: { name: string }) => b.name)).toEqual(['payments', 'llm']);
      expect(res.body[0]).toMatchObject({
        name: 'payments',
        state: 'closed',
        failures: 0,
        successes: 0,
        rejected: 0,
        failureRate: 0,
        tripCount: 0,
        nextAttemptAt: null,
        critical: true,
      });
    });

    it('shows one breaker, per-key breakers included under their full name', async () => {
      await http.get('/resilience/breakers/payments').set(auth).expect(200);
      app!.get(BreakerRegistry).get('llm', 'tenant-a');
      const res = await http.get('/resilience/breakers/llm%23tenant-a').set(auth).expect(200);
      expect(res.body).toMatchObject({ name: 'llm#tenant-a', state: 'closed' });
    });

    it('answers 404 naming an unknown breaker, and does not create it', async () => {
      for (const req of [
        http.get('/resilience/breakers/nope'),
        http.post('/resilience/breakers/nope/trip').send({ reason: 'x' }),
        http.post('/resilience/breakers/nope/reset').send({}),
        http.post('/resilience/breakers/nope/disable').send({ reason: 'x' }),
        http.get('/resilience/audit?breaker=nope'),
      ]) {
        const res = await req.set(auth).expect(404);
        expect(res.body).toEqual({
          statusCode: 404,
          error: 'Not Found',
          message: 'Unknown circuit breaker "nope"',
          breaker: 'nope',
        });
      }
      expect(app!.get(BreakerRegistry).has('nope')).toBe(false);
    });

    it('trips a breaker, which then rejects calls, and records the token as the actor', async () => {
      const res = await http
        .post('/resilience/breakers/payments/trip')
        .set(auth)
        .send({ reason: 'provider incident #4711' })
        .expect(200);
      expect(res.body).toMatchObject({ name: 'payments', state: 'forced_open', tripCount: 1 });
      await expect(
        app!
          .get(BreakerRegistry)
          .get('payments')
          .execute(() => 'ok'),
      ).rejects.toMatchObject({
        code: 'BREAKER_OPEN',
      });

      const audit = await http.get('/resilience/audit').set(auth).expect(200);
      expect(audit.body[0]).toMatchObject({
        breaker: 'payments',
        action: 'trip',
        from: 'closed',
        to: 'forced_open',
        reason: 'provider incident #4711',
        actor: 'token',
      });
    });

    it('refuses a body that is not JSON with 415, as another site’s form would send it', async () => {
      for (const [type, body] of [
        ['application/x-www-form-urlencoded', 'reason=csrf'],
        ['text/plain', '{"reason":"csrf"}'],
        ['multipart/form-data; boundary=x', '--x--'],
      ]) {
        const res = await http
          .post('/resilience/breakers/payments/trip')
          .set(auth)
          .set('content-type', type)
          .send(body)
          .expect(415);
        expect(res.body.message).toBe(
          `Unsupported content-type "${type}"; expected application/json (or no body), which another site's form cannot send`,
        );
      }
      expect(app!.get(BreakerRegistry).get('payments').state).toBe('closed');
      for (const type of ['application/json; charset=utf-8', 'Application/JSON'])
        await http
          .post('/resilience/breakers/payments/disable')
          .set(auth)
          .set('content-type', type)
          .send('{"reason":"json"}')
          .expect(200);
    });

    it('refuses a reset within the cooldown with 409 and retryAfterMs, and forces it with force: true', async () => {
      await http
        .post('/resilience/breakers/payments/trip')
        .set(auth)
        .send({ reason: 'incident' })
        .expect(200);

      const refused = await http.post('/resilience/breakers/payments/reset').set(auth).send({}).expect(409);
      expect(refused.body).toMatchObject({ statusCode: 409, breaker: 'payments' });
      expect(refused.body.message).toMatch(/resetCooldown/);
      expect(refused.body.retryAfterMs).toBeGreaterThan(0);

      const forced = await http
        .post('/resilience/breakers/payments/reset')
        .set(auth)
        .send({ reason: 'fixed', force: true })
        .expect(200);
      expect(forced.body.state).toBe('closed');
    });

    it('resets a breaker that never opened without a body', async () => {
      const res = await http.post('/resilience/breakers/llm/reset').set(auth).expect(200);
      expect(res.body.state).toBe('closed');
      const audit = await http.get('/resilience/audit?breaker=llm').set(auth).expect(200);
      expect(audit.body).toEqual([expect.objectContaining({ action: 'reset', actor: 'token' })]);
    });

    it('disables a breaker', async () => {
      const res = await http
        .post('/resilience/breakers/llm/disable')
        .set(auth)
        .send({ reason: 'provider flaps, we accept it' })
        .expect(200);
      expect(res.body.state).toBe('disabled');
    });

    it('returns the audit log newest first, filtered and limited', async () => {
      await http.post('/resilience/breakers/payments/trip').set(auth).send({ reason: 'one' });
      await http.post('/resilience/breakers/llm/trip').set(auth).send({ reason: 'two' });
      await http.post('/resilience/breakers/payments/reset').set(auth).send({ reason: 'three', force: true });

      const all = await http.get('/resilience/audit').set(auth).expect(200);
      expect(all.body.map((e: { reason: string }) => e.reason)).toEqual(['three', 'two', 'one']);
      const one = await http.get('/resilience/audit?breaker=payments&limit=1').set(auth).expect(200);
      expect(one.body).toEqual([expect.objectContaining({ breaker: 'payments', reason: 'three' })]);
    });

    it.each([
      ['trip without a reason', 'trip', {}, 'reason: expected a non-empty string'],
      ['trip with a blank reason', 'trip', { reason: '  ' }, 'reason: expected a non-empty string'],
      ['trip with a number as reason', 'trip', { reason: 42 }, 'reason: expected a non-empty string'],
      ['disable without a reason', 'disable', {}, 'reason: expected a non-empty string'],
      ['reset with force as a string', 'reset', { force: 'yes' }, 'force: expected true or false'],
      [
        'reset with a misspelt field',
        'reset',
        { forced: true },
        'unknown field "forced"; expected "reason", "force"',
      ],
      ['a body that is not an object', 'trip', ['x'], 'body: expected a JSON object'],
    ])('answers 400 to %s', async (_case, action, body, message) => {
      const res = await http.post(`/resilience/breakers/payments/${action}`).set(auth).send(body).expect(400);
      expect(res.body.message).toContain(message);
      expect(app!.get(BreakerRegistry).get('payments').state).toBe('closed');
    });

    it.each([
      ['limit=0', 'limit: expected a whole number from 1 to 1000'],
      ['limit=ten', 'limit: expected a whole number from 1 to 1000'],
      ['limit=1001', 'limit: expected a whole number from 1 to 1000'],
      ['breaker=a&breaker=b', 'breaker: expected one breaker name'],
    ])('answers 400 to the audit query %s', async (query, message) => {
      const res = await http.get(`/resilience/audit?${query}`).set(auth).expect(400);
      expect(res.body.message).toBe(message);
    });

    it('answers 401 without the token or with a wrong one', async () => {
      const missing = await http.get('/resilience/breakers').expect(401);
      expect(missing.body.message).toMatch(/Authorization: Bearer <token>/);
      await http.get('/resilience/breakers').set('Authorization', 'Bearer wrong').expect(401);
      await http.get('/resilience/breakers').set('Authorization', ADMIN_TOKEN).expect(401);
      await http.post('/resilience/breakers/payments/trip').send({ reason: 'x' }).expect(401);
      expect(app!.get(BreakerRegistry).get('payments').state).toBe('closed');
    });
  });

  describe('with the app guard', () => {
    it('records the principal the guard authenticated as the actor', async () => {
      app = await createAdminApp({ guard: HeaderUserGuard });
      const http = request(app.getHttpServer());
      await http
        .post('/resilience/breakers/payments/trip')
        .set('x-user', 'alice')
        .send({ reason: 'drill' })
        .expect(200);
      const audit = await http.get('/resilience/audit').set('x-user', 'alice').expect(200);
      expect(audit.body[0]).toMatchObject({ action: 'trip', actor: 'alice', reason: 'drill' });
    });

    it('answers 403 when the guard refuses', async () => {
      app = await createAdminApp({ guard: HeaderUserGuard });
      await request(app.getHttpServer()).get('/resilience/breakers').expect(403);
    });

    it('requires both the guard and the token when both are given', async () => {
      app = await createAdminApp({ guard: HeaderUserGuard, token: ADMIN_TOKEN });
      const http = request(app.getHttpServer());
      await http.get('/resilience/breakers').set('x-user', 'alice').expect(401);
      await http.get('/resilience/breakers').set(auth).expect(403);
      await http.post('/resilience/breakers/llm/trip').set(auth).set('x-user', 'alice').send({ reason: 'x' });
      const audit = await http.get('/resilience/audit').set(auth).set('x-user', 'alice').expect(200);
      expect(audit.body[0].actor).toBe('alice');
    });
  });

  it('mounts under admin.path', async () => {
    app = await createAdminApp({ path: '/ops/circuits', token: ADMIN_TOKEN });
    const http = request(app.getHttpServer());
    await http.get('/ops/circuits/breakers').set(auth).expect(200);
    await http.get('/resilience/breakers').set(auth).expect(404);
  });

  it('mounts unprotected only with insecure: true, recording no actor', async () => {
    app = await createAdminApp({ insecure: true });
    const http = request(app.getHttpServer());
    await http.post('/resilience/breakers/payments/trip').send({ reason: 'sandbox' }).expect(200);
    const audit = await http.get('/resilience/audit').expect(200);
    expect(audit.body[0]).toMatchObject({ action: 'trip', actor: null });
  });

  it('mounts nothing without the admin option', async () => {
    app = await createAdminApp(undefined);
    await request(app.getHttpServer()).get('/resilience/breakers').set(auth).expect(404);
  });

  it('mounts the routes with forRootAsync when admin sits next to useFactory', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRootAsync({
          useFactory: async () => ({ breakers: { payments: {} }, metrics: false }),
          admin: { token: ADMIN_TOKEN },
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const res = await request(app.getHttpServer()).get('/resilience/breakers').set(auth).expect(200);
    expect(res.body.map((b: { name: string }) => b.name)).toEqual(['payments']);
  });

  it('serves two apps in one process under their own paths', async () => {
    app = await createAdminApp({ path: '/a', token: ADMIN_TOKEN });
    const other = await createAdminApp({ path: '/b', token: ADMIN_TOKEN });
    try {
      await request(app.getHttpServer()).get('/a/breakers').set(auth).expect(200);
      await request(app.getHttpServer()).get('/b/breakers').set(auth).expect(404);
      await request(other.getHttpServer()).get('/b/breakers').set(auth).expect(200);
    } finally {
      await other.close();
    }
  });

  it("mounts in the app's own module with createAdminController, where the guard's dependencies live", async () => {
    @Injectable()
    class AllowList {
      readonly users = new Set(['bob']);
    }
    @Injectable()
    class AllowListGuard implements CanActivate {
      constructor(private readonly allowList: AllowList) {}
      canActivate(context: ExecutionContext): boolean {
        const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; user?: unknown }>();
        req.user = req.headers['x-user'];
        return this.allowList.users.has(req.user as string);
      }
    }
    @Module({ providers: [AllowList], controllers: [createAdminController({ guard: AllowListGuard })] })
    class OpsModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ breakers: { payments: {} }, metrics: false }), OpsModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const http = request(app.getHttpServer());
    await http.get('/resilience/breakers').set('x-user', 'mallory').expect(403);
    await http
      .post('/resilience/breakers/payments/trip')
      .set('x-user', 'bob')
      .send({ reason: 'drill' })
      .expect(200);
    const audit = await http.get('/resilience/audit').set('x-user', 'bob').expect(200);
    expect(audit.body[0]).toMatchObject({ action: 'trip', actor: 'bob' });
  });

  it('is never put behind a breaker by an app-wide CircuitBreakerInterceptor', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ metrics: false, admin: { token: ADMIN_TOKEN } })],
      providers: [{ provide: APP_INTERCEPTOR, useClass: CircuitBreakerInterceptor }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();

    await request(app.getHttpServer()).get('/resilience/breakers').set(auth).expect(200);
    await request(app.getHttpServer()).get('/resilience/audit').set(auth).expect(200);

    expect(
      app
        .get(BreakerRegistry)
        .all()
        .map((b) => b.name),
    ).toEqual([]);
  });

  describe('refuses to boot', () => {
    const advice = /admin\.guard .*admin\.token .*admin\.insecure: true/;

    it('when admin has neither guard nor token nor insecure: true', () => {
      expect(() => ResilienceModule.forRoot({ admin: {} })).toThrow(advice);
      expect(() => ResilienceModule.forRoot({ admin: { path: '/ops', insecure: false } })).toThrow(
        /admin routes at \/ops would be mounted without protection/,
      );
      expect(() => ResilienceModule.forRootAsync({ useFactory: () => ({}), admin: {} })).toThrow(advice);
    });

    it('when the token is neither a string nor a function', () => {
      expect(() => ResilienceModule.forRoot({ admin: { token: 42 as unknown as string } })).toThrow(
        'Invalid option in admin: admin.token = 42; expected a string, or a function returning one',
      );
    });

    it('when admin has an unknown key, such as a misspelt guard, naming it and the known ones', () => {
      const admin = { token: ADMIN_TOKEN, gaurd: HeaderUserGuard } as AdminOptions;

      expect(() => ResilienceModule.forRoot({ admin })).toThrow(
        expect.objectContaining({
          code: 'INVALID_BREAKER_OPTIONS',
          scope: 'admin',
          key: 'admin.gaurd',
          message: expect.stringContaining('expected no such option; known: path, guard, token, insecure'),
        }),
      );
      expect(() => ResilienceModule.forRootAsync({ useFactory: () => ({}), admin })).toThrow(/admin\.gaurd/);
    });
  });

  // `admin: { token: process.env.ADMIN_TOKEN }` in an app whose tests or CI do not set it.
  describe.each([
    ['unset', undefined],
    ['empty', ''],
    ['a function returning nothing', () => undefined],
  ])('with a token key that is %s', (_, token) => {
    it('boots, answers 401 on every admin request, and warns once at boot', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      app = await createAdminApp({ token });
      const http = request(app.getHttpServer());

      for (const headers of [{}, auth, { Authorization: 'Bearer ' }]) {
        const response = await http.get('/resilience/breakers').set(headers).expect(401);
        expect(response.body.message).toBe('The admin API is locked: no admin token is configured');
      }
      await http.post('/resilience/breakers/payments/trip').set(auth).send({ reason: 'x' }).expect(401);

      const locked = warn.mock.calls.filter(([message]) => String(message).includes('are locked'));
      expect(locked).toEqual([[expect.stringContaining('admin.token is empty or unset')]]);
    });
  });
});
