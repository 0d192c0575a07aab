import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DynamicModule, type INestApplication, Logger } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import type { ResilienceModuleOptions } from '../../src/nest/resilience-options.interface';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { useTempDir } from '../support/temp-dir';

/** The variable the app's `.env` sets; nothing else in the process has it. */
const TOKEN_VARIABLE = 'NEST_RESILIENCE_E2E_ADMIN_TOKEN';
const tempDir = useTempDir();
let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  delete process.env[TOKEN_VARIABLE];
  jest.restoreAllMocks();
});

/** `ConfigModule.forRoot()` as an app writes it: a `.env` file and a `resilience` namespace. */
function configModule(): Promise<DynamicModule> {
  const envFilePath = join(tempDir(), '.env');
  writeFileSync(envFilePath, `${TOKEN_VARIABLE}=from-dotenv\n`);
  const resilience: ResilienceModuleOptions = {
    metrics: false,
    breakers: { payments: { openDuration: 1234 } },
  };
  return ConfigModule.forRoot({ envFilePath, load: [() => ({ resilience })] });
}

/** Starts an app whose imports are built in the order `imports()` builds them. */
async function start(
  imports: () => Array<DynamicModule | Promise<DynamicModule>>,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: imports() }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

const resilienceFromConfig = (admin: { token: string | (() => string | undefined) | undefined }) =>
  ResilienceModule.forRootAsync({
    imports: [ConfigModule],
    inject: [ConfigService],
    useFactory: (config: ConfigService) => config.getOrThrow<ResilienceModuleOptions>('resilience'),
    admin,
  });

describe('forRootAsync with ConfigModule', () => {
  it.each([
    ['before', true],
    ['after', false],
  ])(
    'reads its options from ConfigService with ConfigModule.forRoot() %s it in imports',
    async (_, configFirst) => {
      const tokenFromEnv = () => process.env[TOKEN_VARIABLE];
      const started = await start(() =>
        configFirst
          ? [configModule(), resilienceFromConfig({ token: tokenFromEnv })]
          : [resilienceFromConfig({ token: tokenFromEnv }), configModule()],
      );

      expect(started.get(BreakerRegistry).get('payments').snapshot().openDuration).toBe(1234);
      // A token given as a function is read when the app starts, after every .env file is loaded.
      await request(started.getHttpServer())
        .get('/resilience/breakers')
        .set('Authorization', 'Bearer from-dotenv')
        .expect(200);
    },
  );

  it('locks the admin routes and says what to do when a token read before ConfigModule.forRoot() is unset', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const started = await start(() => [
      resilienceFromConfig({ token: process.env[TOKEN_VARIABLE] }),
      configModule(),
    ]);

    await request(started.getHttpServer())
      .get('/resilience/breakers')
      .set('Authorization', 'Bearer from-dotenv')
      .expect(401);
    const advice = warn.mock.calls
      .map(([message]) => String(message))
      .filter((m) => m.includes('are locked'));
    expect(advice).toEqual([
      expect.stringMatching(
        /list ConfigModule\.forRoot\(\) before ResilienceModule .*token: \(\) => process\.env/,
      ),
    ]);
  });
});
