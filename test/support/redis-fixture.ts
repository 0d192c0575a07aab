import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { createClient } from 'redis';
import type { RedisClient } from '../../src/stores/redis/redis-client';

/** The Redis the tests use: `REDIS_URL`, by default the local one `.ci/run` makes sure of. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * How soon every instance applies a fleet transition: 250 ms on loopback on an idle machine
 * (DESIGN section 6), with as much again for scheduling while other suites share the cores.
 */
export const PROPAGATION_MS = 500;

/** A key prefix of a test's own, so that tests never see each other's keys. */
export const testPrefix = (): string => `nr-test:${randomBytes(4).toString('hex')}:`;

export type RedisLibrary = 'node-redis' | 'ioredis';

export const REDIS_LIBRARIES: RedisLibrary[] = ['node-redis', 'ioredis'];

/** Clients the test opened, closed by {@link closeRedisClients}. */
const opened: Array<() => Promise<unknown>> = [];

/** A connected client of `library`, as an app would hand it to the store. */
export async function connectClient(library: RedisLibrary): Promise<RedisClient> {
  if (library === 'ioredis') {
    const client = new Redis(REDIS_URL);
    opened.push(async () => client.disconnect());
    return client;
  }
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => {});
  await client.connect();
  opened.push(() => client.close());
  return client;
}

export async function closeRedisClients(): Promise<void> {
  for (const close of opened.splice(0)) await close();
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a redis-server of the test's own on `port`, without persistence (restarted, it comes
 * back empty), and answers it once it answers PING.
 */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  // Not lazy: a lazy client's own connect() rejects unhandled when the server is not listening yet.
  const probe = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => 25 });
  probe.on('error', () => undefined);
  try {
    const started = Date.now();
    while ((await probe.ping().catch(() => '')) !== 'PONG') {
      if (Date.now() - started > 5_000) throw new Error(`redis-server on port ${port} did not answer`);
      await delay(25);
    }
  } finally {
    probe.disconnect();
  }
  return server;
}
