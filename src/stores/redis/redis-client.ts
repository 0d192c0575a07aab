/* eslint-disable @typescript-eslint/no-explicit-any -- listener signatures must accept both libraries' event emitters */

/** What the store uses of a node-redis (>= 5) client, the result of `createClient()`. @publicApi */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
  duplicate(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  readonly isReady: boolean;
}

/** What the store uses of an ioredis (>= 5) client. @publicApi */
export interface IoRedisClientLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  readonly status: string;
}

/**
 * An app's own Redis connection, typed by what the store uses of it: node-redis' and ioredis'
 * clients both fit without casts.
 * @publicApi
 */
export type RedisClient = NodeRedisClientLike | IoRedisClientLike;

/** Whether `value` looks like a client of either library. */
export function isRedisClient(value: unknown): value is RedisClient {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const commands = typeof v.sendCommand === 'function' || typeof v.call === 'function';
  return commands && typeof v.duplicate === 'function' && typeof v.on === 'function';
}

/** One message of a subscribed channel. */
export type MessageListener = (message: string) => void;

/**
 * The store's view of a connection, the same for both libraries: commands, readiness, and a
 * second connection for pub/sub.
 */
export interface RedisConnection {
  command(args: string[]): Promise<unknown>;
  /**
   * Whether the connection serves commands now. A command sent on one that does not would wait
   * in the client's offline queue (an app's own client keeps one by default) and run once it
   * reconnects, however old: the store sends none then.
   */
  ready(): boolean;
  /** Called on every (re)connection once the connection serves commands. */
  onReady(listener: () => void): void;
  /**
   * What the connection last failed with while it does not serve commands (a refused
   * connection, a wrong password, TLS to a plain server): known only of a connection the store
   * opened from `url`, whose client's errors are its own to hear.
   */
  lastError?(): unknown;
  /**
   * A second connection subscribed to `channel`; closed with {@link RedisConnection.close}.
   * `onResubscribed` is called each time it is back after losing its connection (what was
   * published meanwhile never reached it).
   */
  subscribe(channel: string, listener: MessageListener, onResubscribed: () => void): Promise<void>;
  /** Closes what the store opened; an app's own client stays open. */
  close(): Promise<void>;
}

interface NodeRedisFull extends NodeRedisClientLike {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  destroy(): void;
}

interface IoRedisFull extends IoRedisClientLike {
  subscribe(channel: string): Promise<unknown>;
  disconnect(): void;
}

/**
 * Adapts a client of either library. `owned`: the store built it (from `url`), so it closes
 * it too. A connection the store opens reports errors only through the store's failing commands.
 */
export function adaptRedisClient(client: RedisClient, owned: boolean): RedisConnection {
  const extra: Array<() => void> = [];
  const closeAll = async () => {
    for (const close of extra.splice(0)) close();
  };
  // ioredis has a `sendCommand` too, of another shape: tell it by `call`.
  if (!('call' in client)) {
    const node = client as NodeRedisFull;
    if (owned) extra.push(() => node.destroy());
    return {
      command: (args) => node.sendCommand(args),
      ready: () => node.isReady,
      onReady: (listener) => void node.on('ready', listener),
      subscribe: async (channel, listener, onResubscribed) => {
        const sub = node.duplicate() as NodeRedisFull;
        sub.on('error', () => {});
        extra.push(() => sub.destroy());
        await sub.connect();
        await sub.subscribe(channel, listener);
        // node-redis subscribes again before it is ready after a reconnect.
        sub.on('ready', onResubscribed);
      },
      close: closeAll,
    };
  }
  const io = client as IoRedisFull;
  if (owned) extra.push(() => io.disconnect());
  return {
    command: ([command, ...args]) => io.call(command, ...args),
    // 'wait': a lazyConnect client that connects on its first command (nothing queued before it).
    ready: () => io.status === 'ready' || io.status === 'wait',
    onReady: (listener) => void io.on('ready', listener),
    subscribe: async (channel, listener, onResubscribed) => {
      const sub = io.duplicate() as IoRedisFull;
      sub.on('error', () => {});
      extra.push(() => sub.disconnect());
      sub.on('message', (_channel: string, message: string) => listener(message));
      await sub.subscribe(channel);
      // ioredis sends its subscriptions again as it becomes ready after a reconnect.
      sub.on('ready', onResubscribed);
    },
    close: closeAll,
  };
}
