import { createServer, connect, type Server, type Socket } from 'node:net';

/** A TCP proxy to a local Redis whose link can stall, see {@link freezableProxy}. */
export interface FreezableProxy {
  readonly port: number;
  /** Holds the bytes both ways from now on. */
  freeze(): void;
  /** Delivers the bytes held, in order, and lets the next ones through. */
  thaw(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy to the Redis on `target` (127.0.0.1) that can freeze: bytes both ways are held (as
 * TCP retransmits them over a stalled link) and delivered when it thaws. The link of one
 * instance stalls, not Redis.
 */
export async function freezableProxy(target: number): Promise<FreezableProxy> {
  let frozen = false;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const pipe = (from: Socket, to: Socket) =>
      from.on('data', (data) => (frozen ? held.push(() => to.write(data)) : to.write(data)));
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const write of held.splice(0)) write();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
