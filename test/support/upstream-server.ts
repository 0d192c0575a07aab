import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 that counts what reaches it. */
export interface Upstream {
  /** `http://127.0.0.1:<port>`, as `URL.origin` writes it. */
  readonly origin: string;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Requests received so far. */
  readonly requests: number;
  /** Resolves once `count` requests in all have been received. */
  received(count: number): Promise<void>;
  /** Resolves once `count` requests in all have been given up by their client before an answer. */
  abandoned(count: number): Promise<void>;
  /** Status of the next answers (200 at first); `hang` answers never. */
  answer(status: number | 'hang'): void;
  /** Answers the next requests with a redirect (302) to `location`. */
  redirectTo(location: string): void;
  /** Answers every request for `path` with `status`, or a 302 to `location`, whatever `answer()` and `redirectTo()` say. */
  route(path: string, answer: number | 'hang' | { location: string }): void;
  close(): Promise<void>;
}

/**
 * Starts an upstream. It answers `status` with the body `status <n>`, or holds the request
 * open when told to hang (closing the upstream ends such requests).
 */
export async function startUpstream(): Promise<Upstream> {
  let connections = 0;
  let requests = 0;
  let status: number | 'hang' = 200;
  let location: string | undefined;
  let abandoned = 0;
  const waiters = counterWaiters();
  const abandonWaiters = counterWaiters();
  const routes = new Map<string, number | 'hang' | { location: string }>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    waiters.reached(++requests);
    response.on('close', () => {
      if (!response.writableFinished) abandonWaiters.reached(++abandoned);
    });
    request.resume();
    const answer = routes.get(request.url ?? '/') ?? (location === undefined ? status : { location });
    if (answer === 'hang') return;
    if (typeof answer === 'object') return response.writeHead(302, { location: answer.location }).end();
    response.writeHead(answer, { 'content-type': 'text/plain' }).end(`status ${answer}`);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    received: (count) => waiters.until(count, requests),
    abandoned: (count) => abandonWaiters.until(count, abandoned),
    answer(next) {
      status = next;
      location = undefined;
    },
    redirectTo(to) {
      location = to;
    },
    route: (path, answer) => routes.set(path, answer),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Promises that resolve once a counter reaches their count. */
function counterWaiters() {
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  return {
    until: (count: number, now: number) =>
      new Promise<void>((resolve) => (count <= now ? resolve() : waiters.push({ count, resolve }))),
    reached(now: number): void {
      for (const waiter of waiters.filter((w) => w.count <= now)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
  };
}

/** An origin on 127.0.0.1 where nothing listens: connecting is refused. */
export async function refusingOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
