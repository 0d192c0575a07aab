import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidBreakerOptionsError } from '../core/errors';
import { checkVariant, rules, type OptionTable } from '../core/option-table';
import { isRedisClient } from './redis/redis-client';
import { SQLITE_DRIVER_OPTIONS } from './sqlite-drivers/sqlite-driver';
import type { StoreOptions } from './store-options';

type SqliteOptions = Extract<StoreOptions, { type: 'sqlite' }>;
type RedisOptions = Extract<StoreOptions, { type: 'redis' }>;

const MEMORY: OptionTable<Extract<StoreOptions, { type: 'memory' }>> = {
  type: { check: (v) => v === 'memory', expected: "'memory'", required: true },
};

const SQLITE: OptionTable<SqliteOptions> = {
  type: { check: (v) => v === 'sqlite', expected: "'sqlite'", required: true },
  path: { ...rules.nonEmptyString('the path of the SQLite file, a non-empty string'), required: true },
  flushInterval: { ...rules.duration(), default: 5_000 },
  driver: {
    check: (v) => (SQLITE_DRIVER_OPTIONS as readonly unknown[]).includes(v),
    expected: `one of ${SQLITE_DRIVER_OPTIONS.map((d) => `'${d}'`).join(', ')}`,
    default: 'auto',
  },
};

const REDIS: OptionTable<RedisOptions> = {
  type: { check: (v) => v === 'redis', expected: "'redis'", required: true },
  url: {
    check: (v) => typeof v === 'string' && /^rediss?:\/\//.test(v),
    expected: 'a redis:// or rediss:// URL (exactly one of url and client)',
  },
  client: {
    check: isRedisClient,
    expected: 'a node-redis (>= 5) or ioredis (>= 5) client (exactly one of url and client)',
  },
  keyPrefix: { ...rules.nonEmptyString('a non-empty string'), default: 'nest-resilience:' },
  instanceId: {
    ...rules.nonEmptyString('a non-empty string'),
    defaultIs: '`${hostname}:${pid}:${4 random hex}`',
  },
  commandTimeout: { ...rules.duration(), default: 250 },
  heartbeat: { ...rules.duration(), default: 5_000 },
};

/** The store options of each `type`: one table per store (a new store adds one). */
export const STORE_OPTIONS = { memory: MEMORY, sqlite: SQLITE, redis: REDIS } as const;

/**
 * Checks `store` options by their `type`, naming keys as `store.<key>`.
 * @throws {InvalidBreakerOptionsError} (scope `store`) on a bad or unknown key.
 */
export function checkStoreOptions(options: unknown): asserts options is StoreOptions {
  checkVariant({ scope: 'store' }, 'type', STORE_OPTIONS, options, 'store');
  const o = options as StoreOptions;
  if (o.type === 'redis' && (o.url === undefined) === (o.client === undefined)) {
    const key = o.url === undefined ? 'store.url' : 'store.client';
    throw new InvalidBreakerOptionsError(undefined, key, o.url ?? o.client, REDIS.url.expected, 'store');
  }
}

/** The redis store's options with their defaults. */
export function redisOptionsOf(options: RedisOptions): Required<Omit<RedisOptions, 'url' | 'client'>> {
  const d = <K extends keyof RedisOptions>(key: K) =>
    (options[key] ?? REDIS[key].default) as NonNullable<RedisOptions[K]>;
  return {
    type: 'redis',
    keyPrefix: d('keyPrefix'),
    instanceId: options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`,
    commandTimeout: d('commandTimeout'),
    heartbeat: d('heartbeat'),
  };
}

/** The sqlite store's `flushInterval`, or its default. */
export const flushIntervalOf = (options: SqliteOptions): number =>
  options.flushInterval ?? (SQLITE.flushInterval.default as number);
