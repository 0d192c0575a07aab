import type { SqliteDriverOption, StoreOptions } from 'nest-resilience';

/** The admin token used when `ADMIN_TOKEN` is not set: fine on a laptop, never in production. */
export const DEV_ADMIN_TOKEN = 'dev-admin-token';

/**
 * The sample app's settings, read once from the environment. An abstract class so that it
 * serves as its own injection token, as `ConfigService` does in apps using `@nestjs/config`.
 */
export abstract class SampleConfig {
  /** `PORT`: where the app listens; 0 picks a free port. */
  abstract readonly port: number;
  /** `BREAKER_OPEN_MS`: how long a breaker stays OPEN before a trial call. */
  abstract readonly openDurationMs: number;
  /** `BREAKER_FAILURE_THRESHOLD`: failures inside the window that open a breaker. */
  abstract readonly failureThreshold: number;
  /** `BREAKER_TIMEOUT_MS`: how long a protected call may take before it counts as a timeout. */
  abstract readonly timeoutMs: number;
  /**
   * `BREAKER_STORE` (`sqlite`, `memory` or `redis`), `BREAKER_DB_PATH` and `BREAKER_SQLITE_DRIVER`
   * (sqlite), `REDIS_URL` and `INSTANCE_ID` (redis).
   */
  abstract readonly store: StoreOptions;
  /** `ADMIN_TOKEN`: the bearer token of the admin routes. */
  abstract readonly adminToken: string;
}

/**
 * Reads the settings, each with a default that suits a local run.
 * @throws naming the variable, when a value is not what it should be.
 */
export function readSampleConfig(env: NodeJS.ProcessEnv): SampleConfig {
  return {
    port: readInteger(env, 'PORT', 3000, 0),
    openDurationMs: readInteger(env, 'BREAKER_OPEN_MS', 30_000, 1),
    failureThreshold: readInteger(env, 'BREAKER_FAILURE_THRESHOLD', 3, 1),
    timeoutMs: readInteger(env, 'BREAKER_TIMEOUT_MS', 1_000, 1),
    store: readStore(env),
    adminToken: env.ADMIN_TOKEN || DEV_ADMIN_TOKEN,
  };
}

function readStore(env: NodeJS.ProcessEnv): StoreOptions {
  const type = env.BREAKER_STORE || 'sqlite';
  if (type === 'memory') return { type };
  if (type === 'sqlite') {
    const driver = (env.BREAKER_SQLITE_DRIVER || 'auto') as SqliteDriverOption;
    return { type, path: env.BREAKER_DB_PATH || './data/breakers.db', driver };
  }
  if (type === 'redis') {
    const url = env.REDIS_URL || 'redis://127.0.0.1:6379';
    return {
      type,
      url,
      keyPrefix: 'sample-app:',
      ...(env.INSTANCE_ID ? { instanceId: env.INSTANCE_ID } : {}),
    };
  }
  throw new Error(`BREAKER_STORE=${type}: expected sqlite, memory or redis`);
}

function readInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name}=${raw}: expected a whole number of at least ${min}`);
  }
  return value;
}
