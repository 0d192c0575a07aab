/**
 * An operator who disabled a breaker during an incident (right after it opened, or after a trip)
 * turns its protection back on with a reset, over the admin API and the CLI, without --force:
 * resetCooldown guards closing a breaker that is holding calls back, and a disabled one holds
 * none. A breaker still forced open is refused as before. Real apps over real HTTP.
 */
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { runCli } from '../cli/cli-runner';
import { ADMIN_TOKEN, baseUrl, closeApp, createAdminApp } from './admin-app.fixture';

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

describe.each([
  ['Express', undefined],
  ['Fastify', () => new FastifyAdapter()],
])('Admin API on %s: resetting a disabled breaker', (_, adapter) => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await closeApp(app);
    app = undefined;
  });

  it('re-enables a breaker disabled after a trip within resetCooldown, and still refuses a forced-open one', async () => {
    app = await createAdminApp({ token: ADMIN_TOKEN }, { adapter });
    const http = request(app.getHttpServer());
    const post = (action: string, body: object) =>
      http.post(`/resilience/breakers/payments/${action}`).set(auth).send(body);

    await post('trip', { reason: 'provider incident' }).expect(200);
    const refused = await post('reset', {}).expect(409);
    expect(refused.body).toMatchObject({
      breaker: 'payments',
      message: expect.stringMatching(/resetCooldown/),
    });
    await post('disable', { reason: 'provider back, let everything through' }).expect(200);

    const reset = await post('reset', { reason: 'protection back on' }).expect(200);

    expect(reset.body).toMatchObject({ name: 'payments', state: 'closed' });
    const audit = await http.get('/resilience/audit?breaker=payments&limit=1').set(auth).expect(200);
    expect(audit.body).toEqual([
      expect.objectContaining({
        action: 'reset',
        from: 'disabled',
        to: 'closed',
        reason: 'protection back on',
      }),
    ]);
  });

  it('re-enables it with the CLI, without --force', async () => {
    app = await createAdminApp({ token: ADMIN_TOKEN }, { adapter, listen: true });
    const registry = app.get(BreakerRegistry);
    const env = { NEST_RESILIENCE_URL: `${baseUrl(app)}/resilience`, NEST_RESILIENCE_TOKEN: ADMIN_TOKEN };
    await registry.get('payments').trip('provider incident');
    await registry.get('payments').disable('let everything through');

    const outcome = await runCli(['reset', 'payments', '--reason', 'protection back on'], env);

    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    expect(registry.get('payments').state).toBe('closed');
  });
});
