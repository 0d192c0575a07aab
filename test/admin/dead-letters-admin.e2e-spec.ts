import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { ADMIN_TOKEN, HeaderUserGuard, closeApp, createAdminApp } from './admin-app.fixture';

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

const declined = (): Error => Object.assign(new Error('card declined'), { code: 'CARD_DECLINED' });

describe('Admin API: dead letters', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let deadLetters: DeadLetters;

  beforeEach(async () => {
    app = await createAdminApp({ token: ADMIN_TOKEN });
    http = request(app.getHttpServer());
    deadLetters = app.get(DeadLetters);
  });

  afterEach(() => closeApp(app));

  it('lists dead letters newest first, of one policy or of all, up to a limit', async () => {
    const first = await deadLetters.record('payments', ['order-1'], declined(), 3);
    const second = await deadLetters.record('emails', ['welcome', { to: 'a@b.c' }], declined());

    expect((await http.get('/resilience/dead-letters').set(auth).expect(200)).body).toEqual([second, first]);
    expect((await http.get('/resilience/dead-letters?policy=payments').set(auth).expect(200)).body).toEqual([
      first,
    ]);
    expect((await http.get('/resilience/dead-letters?limit=1').set(auth).expect(200)).body).toEqual([second]);
    expect((await http.get(`/resilience/dead-letters/${first.id}`).set(auth).expect(200)).body).toEqual(
      first,
    );
    await http.get('/resilience/dead-letters?limit=0').set(auth).expect(400);
    await http.get('/resilience/dead-letters?policy=').set(auth).expect(400);
  });

  it('replays a letter through its policy: 200 and the letter is gone', async () => {
    const replayer = jest.fn();
    deadLetters.registerReplayer('payments', replayer);
    const letter = await deadLetters.record('payments', ['order-1', { amount: 5 }], declined());

    const res = await http.post(`/resilience/dead-letters/${letter.id}/replay`).set(auth).expect(200);

    expect(res.body).toEqual({ id: letter.id, policy: 'payments', outcome: 'succeeded' });
    expect(replayer).toHaveBeenCalledWith('order-1', { amount: 5 });
    await http.get(`/resilience/dead-letters/${letter.id}`).set(auth).expect(404);
  });

  it('answers 502 with the error when the replay fails again, and keeps the letter', async () => {
    deadLetters.registerReplayer('payments', () => Promise.reject(declined()));
    const letter = await deadLetters.record('payments', ['order-1'], declined());

    const res = await http.post(`/resilience/dead-letters/${letter.id}/replay`).set(auth).expect(502);

    expect(res.body).toEqual({
      statusCode: 502,
      error: 'Bad Gateway',
      message: `Dead letter "${letter.id}" (policy "payments") failed again: card declined`,
      id: letter.id,
      policy: 'payments',
      outcome: 'failed',
      cause: { name: 'Error', message: 'card declined', code: 'CARD_DECLINED' },
    });
    await http.get(`/resilience/dead-letters/${letter.id}`).set(auth).expect(200);
  });

  it('answers 404 for an unknown letter and 409 for one whose policy has no replayer', async () => {
    const letter = await deadLetters.record('renamed', ['x'], declined());

    for (const req of [
      http.get('/resilience/dead-letters/999'),
      http.post('/resilience/dead-letters/999/replay'),
    ]) {
      expect((await req.set(auth).expect(404)).body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'No dead letter "999"',
        code: 'DEAD_LETTER_NOT_FOUND',
        id: '999',
      });
    }
    const res = await http.post(`/resilience/dead-letters/${letter.id}/replay`).set(auth).expect(409);
    expect(res.body).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      code: 'NO_REPLAYER',
      id: letter.id,
    });
    expect(res.body.message).toContain('policy "renamed" has no replayer in this app');
  });

  it('purges every letter, or those of one policy, and says how many', async () => {
    await deadLetters.record('payments', ['a'], declined());
    await deadLetters.record('payments', ['b'], declined());
    await deadLetters.record('emails', ['c'], declined());

    expect(
      (await http.delete('/resilience/dead-letters?policy=payments').set(auth).expect(200)).body,
    ).toEqual({
      purged: 2,
    });
    expect((await http.delete('/resilience/dead-letters').set(auth).expect(200)).body).toEqual({ purged: 1 });
    expect((await http.get('/resilience/dead-letters').set(auth).expect(200)).body).toEqual([]);
  });

  it('is behind the same token as every admin route', async () => {
    await deadLetters.record('payments', ['a'], declined());
    await http.get('/resilience/dead-letters').expect(401);
    await http.post('/resilience/dead-letters/1/replay').expect(401);
    await http.delete('/resilience/dead-letters').set({ Authorization: 'Bearer wrong' }).expect(401);
    expect(await deadLetters.list()).toHaveLength(1);
  });

  it('is behind the app’s guard too', async () => {
    await closeApp(app);
    app = await createAdminApp({ guard: HeaderUserGuard });
    await request(app.getHttpServer()).get('/resilience/dead-letters').expect(403);
    await request(app.getHttpServer()).get('/resilience/dead-letters').set('x-user', 'alice').expect(200);
  });
});
