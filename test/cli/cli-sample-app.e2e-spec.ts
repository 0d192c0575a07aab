import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { register } from 'prom-client';
import { ADMIN_PATH, AppModule } from '../../sample-app/src/app.module';
import type { SampleConfig } from '../../sample-app/src/sample-config';
import { baseUrl } from '../admin/admin-app.fixture';
import { runCli } from './cli-runner';

const ADMIN_TOKEN = 'sample-admin-token';

/** The README's CLI walkthrough against the sample app, as an operator would run it. */
describe('nest-resilience CLI against the sample app', () => {
  let app: INestApplication;
  let env: Record<string, string>;

  beforeAll(async () => {
    const config: SampleConfig = {
      port: 0,
      openDurationMs: 10_000,
      failureThreshold: 3,
      timeoutMs: 1_000,
      store: { type: 'memory' },
      adminToken: ADMIN_TOKEN,
    };
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    env = { NEST_RESILIENCE_URL: `${baseUrl(app)}${ADMIN_PATH}`, NEST_RESILIENCE_TOKEN: ADMIN_TOKEN };
  });

  afterAll(async () => {
    await app?.close();
    register.clear();
  });

  const cli = (...argv: string[]) => runCli(argv, env);

  it('lists, trips, audits and resets the sample breakers', async () => {
    const status = await cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^downstream +closed /m);
    expect(status.stdout).toMatch(/^downstream-direct +closed /m);

    expect(await cli('trip', 'downstream-direct', '--reason', 'maintenance window')).toMatchObject({
      code: 0,
      stdout: 'Breaker "downstream-direct" tripped: now forced_open.\n',
    });
    expect((await fetch(`${baseUrl(app)}/quotes/42/direct`)).status).toBe(503);

    const audit = await cli('audit', 'downstream-direct');
    expect(audit.stdout).toMatch(/downstream-direct +trip +closed -> forced_open +token +maintenance window/);

    expect((await cli('reset', 'downstream-direct')).code).toBe(1);
    expect(await cli('reset', 'downstream-direct', '--force')).toMatchObject({
      code: 0,
      stdout: 'Breaker "downstream-direct" reset: now closed.\n',
    });
    expect((await fetch(`${baseUrl(app)}/quotes/42/direct`)).status).toBe(200);
  });
});
