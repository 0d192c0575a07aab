/**
 * `nest-resilience` as a real child process, used as a careless operator or a hostile server
 * would use it: odd names, a token pasted with "Bearer ", a URL with a query, redirects, proxies'
 * error pages, answers that never end, `| head`, and `--json` that a script parses.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { BreakerRegistry } from '../../src/core/registry';
import { ADMIN_TOKEN, baseUrl, closeApp, createAdminApp } from '../admin/admin-app.fixture';

const MAIN = join(__dirname, '../../src/cli/main.ts');
const REGISTER = join(__dirname, '../support/swc-register.js');
/** A self-signed certificate for 127.0.0.1, for these tests only. */
const CERT = join(__dirname, 'fixtures/self-signed.cert.pem');
const KEY = join(__dirname, 'fixtures/self-signed.key.pem');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in a process of its own with exactly `env` (PATH aside). `firstChunk` closes
 * its stdout once the first output arrived, as `| head -1` does.
 */
function cli(argv: string[], env: Record<string, string>, { firstChunk = false } = {}): Promise<Exit> {
  const child = spawn(process.execPath, ['--require', REGISTER, MAIN, ...argv], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (firstChunk) child.stdout.destroy();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A snapshot as `GET breakers` lists it. */
const snapshot = (name: string) => ({
  name,
  state: 'closed',
  failures: 0,
  successes: 0,
  rejected: 0,
  failureRate: 0,
  openedAt: null,
  nextAttemptAt: null,
  tripCount: 0,
  calls: 0,
  slowCalls: 0,
  slowCallRate: 0,
  inFlight: 0,
  openDuration: 30_000,
  critical: false,
});

describe('nest-resilience as a process', () => {
  let app: INestApplication;
  let api: string;
  let env: Record<string, string>;
  let hostile: Server;
  let other: string;
  let tls: Server;
  let tlsPort: number;

  beforeAll(async () => {
    app = await createAdminApp({ token: ADMIN_TOKEN }, { listen: true });
    api = `${baseUrl(app)}/resilience`;
    hostile = createServer((request: IncomingMessage, response: ServerResponse) => {
      const [, route, arg] = request.url!.split('/');
      request.resume();
      switch (route) {
        case 'moved':
          // Another origin (its own port): fetch would drop the token there, and make a POST a GET.
          return response.writeHead(301, { location: `${api}${request.url!.slice('/moved'.length)}` }).end();
        case 'crashed':
          return response.writeHead(500).end();
        case 'proxy':
          return response
            .writeHead(502, { 'content-type': 'text/html' })
            .end(
              '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>',
            );
        case 'endless': {
          response.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(1024 * 1024, 32);
          const more = (): void => {
            while (!response.destroyed) if (!response.write(chunk)) return void response.once('drain', more);
          };
          return more();
        }
        case 'breakers': {
          const rows = Array.from({ length: Number(arg ?? 150_000) }, (_, i) => snapshot(`breaker-${i}`));
          return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows));
        }
        case 'far-future':
          return response.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify([
              {
                breaker: 'x',
                action: 'trip',
                from: 'closed',
                to: 'forced_open',
                reason: 'r',
                actor: null,
                at: 1e20,
              },
            ]),
          );
        default:
          return response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    other = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    tls = createTlsServer({ cert: readFileSync(CERT), key: readFileSync(KEY) }, (_, response) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end('[]'),
    );
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    tlsPort = (tls.address() as AddressInfo).port;
  });

  afterAll(async () => {
    hostile.closeAllConnections();
    await new Promise((resolve) => hostile.close(resolve));
    tls.closeAllConnections();
    await new Promise((resolve) => tls.close(resolve));
    await closeApp(app);
  });

  beforeEach(async () => {
    env = { NEST_RESILIENCE_URL: api, NEST_RESILIENCE_TOKEN: ADMIN_TOKEN };
    await app.get(BreakerRegistry).get('payments').reset({ force: true });
  });

  it.each([
    [['status', ''], 'the breaker name is empty; expected a breaker name'],
    [
      ['status', '.'],
      'the breaker name "." cannot be sent to the admin API: a URL reads it as a step in its path',
    ],
    [['trip', '..', '--reason', 'x'], 'the breaker name ".." cannot be sent to the admin API'],
    [['reset', ''], 'the breaker name is empty'],
    [['audit', ''], 'the breaker name is empty; expected a breaker name, or none for all'],
    [['dead-letters', 'replay', '..'], 'the dead letter id ".." cannot be sent to the admin API'],
    [['dead-letters', 'replay', ''], 'the dead letter id is empty; expected a dead letter id'],
    [
      ['dead-letters', 'purge', '--policy', ''],
      'the policy name is empty; expected a policy name, or none for all',
    ],
  ])(
    '%j is a usage error naming the name (exit 2), not a wrong-URL hint from the API',
    async (argv, message) => {
      const { code, stdout, stderr } = await cli(argv, env);

      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr.split('\n')[0]).toMatch(
        new RegExp(`^nest-resilience: ${message.replace(/[.()"]/g, '\\$&')}`),
      );
      expect(app.get(BreakerRegistry).get('payments').state).toBe('closed');
    },
  );

  it.each([
    [' \r\n', 'NEST_RESILIENCE_TOKEN is empty; expected the admin token alone'],
    [
      `Bearer ${ADMIN_TOKEN}`,
      'NEST_RESILIENCE_TOKEN holds white space at position 7; expected the admin token alone, as the app\'s admin.token has it, without "Bearer "',
    ],
    [
      `${ADMIN_TOKEN.slice(0, 4)}\n${ADMIN_TOKEN.slice(4)}`,
      'NEST_RESILIENCE_TOKEN holds white space at position 5',
    ],
    [`${ADMIN_TOKEN}€`, 'NEST_RESILIENCE_TOKEN holds a character an HTTP header cannot carry at position 19'],
  ])(
    'a token of %j is a usage error naming the variable and what it holds (exit 2)',
    async (token, message) => {
      const { code, stderr } = await cli(['status'], { ...env, NEST_RESILIENCE_TOKEN: token });

      expect(code).toBe(2);
      expect(stderr.split('\n')[0]).toContain(`nest-resilience: ${message}`);
    },
  );

  it('takes an empty NEST_RESILIENCE_TOKEN (a CI secret that is not defined) as unset: the app asks for a token', async () => {
    const { NEST_RESILIENCE_TOKEN: _, ...withoutToken } = env;
    const missing = await cli(['status'], withoutToken);

    expect(missing.code).not.toBe(2);
    expect(missing.stderr).toContain('Pass --token <token> or set NEST_RESILIENCE_TOKEN.');
    expect(await cli(['status'], { ...withoutToken, NEST_RESILIENCE_TOKEN: '' })).toEqual(missing);
  });

  it("refuses an explicit --token '' (exit 2), whatever the variable holds", async () => {
    const variables: Array<Record<string, string>> = [
      {},
      { NEST_RESILIENCE_TOKEN: '' },
      { NEST_RESILIENCE_TOKEN: ADMIN_TOKEN },
    ];
    for (const variable of variables) {
      const { code, stderr } = await cli(['status', '--token', ''], {
        NEST_RESILIENCE_URL: api,
        ...variable,
      });

      expect(code).toBe(2);
      expect(stderr.split('\n')[0]).toContain(
        'nest-resilience: --token is empty; expected the admin token alone',
      );
    }
  });

  it("takes an empty NEST_RESILIENCE_URL as unset (the default URL); --url '' is refused (exit 2)", async () => {
    const { NEST_RESILIENCE_URL: _, ...withoutUrl } = env;
    const missing = await cli(['status'], withoutUrl);

    expect(missing.code).not.toBe(2);
    expect(await cli(['status'], { ...withoutUrl, NEST_RESILIENCE_URL: '' })).toEqual(missing);
    const explicit = await cli(['status', '--url', ''], withoutUrl);
    expect(explicit.code).toBe(2);
    expect(explicit.stderr.split('\n')[0]).toContain('nest-resilience: --url must be an http(s) URL; got ""');
  });

  it('says to shorten --reason when the app refuses the body as too large (exit 1)', async () => {
    const { code, stderr } = await cli(['trip', 'payments', '--reason', 'log line\n'.repeat(12_000)], env);

    expect({ code, stderr }).toEqual({
      code: 1,
      stderr: `nest-resilience: request entity too large (HTTP 413 from ${api}): give a shorter --reason\n`,
    });
  });

  it('takes a token read from a file with its line ending', async () => {
    expect((await cli(['status'], { ...env, NEST_RESILIENCE_TOKEN: `${ADMIN_TOKEN}\r\n` })).code).toBe(0);
  });

  it('takes a URL with white space around it (a .env line)', async () => {
    expect((await cli(['status'], { ...env, NEST_RESILIENCE_URL: ` ${api}  \r\n` })).code).toBe(0);
  });

  it.each([
    [
      { NEST_RESILIENCE_URL: 'http://ops:secret@127.0.0.1:1/resilience' },
      'NEST_RESILIENCE_URL holds a user name or password',
    ],
    [
      { NEST_RESILIENCE_URL: 'http://127.0.0.1:1/resilience?env=prod' },
      'NEST_RESILIENCE_URL has a query or fragment',
    ],
    [
      { NEST_RESILIENCE_URL: 'http://127.0.0.1:1/resilience#top' },
      'NEST_RESILIENCE_URL has a query or fragment',
    ],
    [
      { NEST_RESILIENCE_URL: 'localhost:3000' },
      'NEST_RESILIENCE_URL must be an http(s) URL; got "localhost:3000"',
    ],
  ])('a URL such as %j is a usage error naming where it came from (exit 2)', async (url, message) => {
    const { code, stderr } = await cli(['status'], { ...env, ...url });

    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toContain(`nest-resilience: ${message}`);
    expect(stderr).toContain("expected the admin API's base URL, such as http://127.0.0.1:3000/resilience");
  });

  it('does not follow a redirect: it names where it points, and neither the token nor the trip goes there', async () => {
    const { code, stderr } = await cli(['trip', 'payments', '--reason', 'drill'], {
      ...env,
      NEST_RESILIENCE_URL: `${other}/moved`,
    });

    expect(code).toBe(1);
    expect(stderr).toBe(
      `nest-resilience: ${other}/moved answered with a redirect (HTTP 301) to ${api}/breakers/payments/trip, ` +
        'which the CLI does not follow (the token would go there, and a POST become a GET); ' +
        `if that is the admin API, pass --url ${api}\n`,
    );
    expect(app.get(BreakerRegistry).get('payments').state).toBe('closed');
  });

  it.each([
    ['crashed', 'answered HTTP 500 Internal Server Error with no body'],
    [
      'proxy',
      'answered HTTP 502 Bad Gateway with an HTML page ("502 Bad Gateway"), not the admin API\'s JSON; is --url the admin API\'s path?',
    ],
  ])(
    'an error answer without the API message (%s) names the URL and the status, on one line (exit 1)',
    async (route, message) => {
      const { code, stderr } = await cli(['status'], { ...env, NEST_RESILIENCE_URL: `${other}/${route}` });

      expect({ code, stderr }).toEqual({
        code: 1,
        stderr: `nest-resilience: ${other}/${route} ${message}\n`,
      });
    },
  );

  it('stops reading an answer that never ends, past 128 MiB, and says so (exit 1)', async () => {
    const { code, stderr } = await cli(['status'], { ...env, NEST_RESILIENCE_URL: `${other}/endless` });

    expect({ code, stderr }).toEqual({
      code: 1,
      stderr: `nest-resilience: ${other}/endless sent more than 128 MiB, more than any answer of the admin API; is --url the admin API's path?\n`,
    });
  });

  it('prints a table of 150,000 breakers (a large fleet)', async () => {
    const { code, stdout, stderr } = await cli(['status'], { ...env, NEST_RESILIENCE_URL: other });

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.split('\n')).toHaveLength(1 + 150_000 + 1);
  }, 30_000);

  it('exits quietly when its reader goes away (| head), without a stack trace', async () => {
    const { code, stdout, stderr } = await cli(['status', '--url', `${other}/breakers/5000`], env, {
      firstChunk: true,
    });

    expect(stdout).toMatch(/^NAME +STATE/);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('reports an answer with a time no date can hold on one line (exit 1)', async () => {
    const { code, stderr } = await cli(['audit', '--url', `${other}/far-future`], env);

    expect({ code, stderr }).toEqual({
      code: 1,
      stderr: `nest-resilience: ${other}/far-future answered with JSON the admin API does not send (Invalid time value); is --url the admin API's path?\n`,
    });
  });

  it('says how to trust an app whose TLS certificate is not trusted, and that way works (exit 3, then 0)', async () => {
    const url = `https://127.0.0.1:${tlsPort}/resilience`;

    const untrusted = await cli(['status', '--url', url], env);
    expect(untrusted).toEqual({
      code: 3,
      stdout: '',
      stderr:
        `nest-resilience: Cannot connect to ${url} (DEPTH_ZERO_SELF_SIGNED_CERT). The app's TLS certificate ` +
        'is not trusted here: give the CA that signed it with NODE_EXTRA_CA_CERTS=<file.pem>.\n',
    });
    const trusted = await cli(['status', '--url', url], { ...env, NODE_EXTRA_CA_CERTS: CERT });
    expect(trusted).toEqual({ code: 0, stdout: 'No circuit breakers registered.\n', stderr: '' });
  });

  it('says when the URL has http where the app speaks HTTPS, and the other way round (exit 3)', async () => {
    const plain = `http://127.0.0.1:${tlsPort}/resilience`;
    expect((await cli(['status', '--url', plain], env)).stderr).toBe(
      `nest-resilience: Cannot connect to ${plain} (UND_ERR_SOCKET). The app closed the connection at once: ` +
        'does it speak HTTPS there? Then the URL starts with https://.\n',
    );
    const secure = api.replace('http:', 'https:');
    expect((await cli(['status', '--url', secure], env)).stderr).toMatch(
      new RegExp(
        `^nest-resilience: Cannot connect to ${secure.replace(/[.]/g, '\\.')} \\(\\w*SSL\\w*\\)\\. Does the app speak plain HTTP there\\? Then the URL starts with http://\\.\\n$`,
      ),
    );
  });

  it("says that a breaker name too long for the app's HTTP server is too long (exit 1)", async () => {
    const { code, stderr } = await cli(['status', 'n'.repeat(20_000)], env);

    expect({ code, stderr }).toEqual({
      code: 1,
      stderr:
        `nest-resilience: ${api} answered HTTP 431 Request Header Fields Too Large with no body: ` +
        "the breaker name or dead letter id is too long for the app's HTTP server\n",
    });
  });

  it('names the options it knows when given another (exit 2)', async () => {
    const { code, stderr } = await cli(['status', '--verbose'], env);

    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe(
      'nest-resilience: unknown option --verbose; expected one of --url, --token, --reason, --limit, --policy, ' +
        '--force, --fleet, --json, --help, -h',
    );
  });

  describe('--json', () => {
    it('prints the error as JSON on stdout when the API refuses, with what a script needs of it', async () => {
      const unknown = await cli(['status', 'nope', '--json'], env);
      expect(unknown.code).toBe(1);
      expect(JSON.parse(unknown.stdout)).toEqual({
        error: { message: 'Unknown circuit breaker "nope"', exitCode: 1, status: 404, breaker: 'nope' },
      });
      expect(unknown.stderr).toBe('nest-resilience: Unknown circuit breaker "nope"\n');

      await cli(['trip', 'payments', '--reason', 'drill'], env);
      const cooldown = await cli(['reset', 'payments', '--json'], env);
      expect(cooldown.code).toBe(1);
      expect(JSON.parse(cooldown.stdout)).toEqual({
        error: {
          message: expect.stringMatching(
            /^Circuit breaker "payments" opened less than its resetCooldown ago.*\(with this CLI: --force\)$/,
          ),
          exitCode: 1,
          status: 409,
          breaker: 'payments',
          retryAfterMs: expect.any(Number),
        },
      });
    });

    it('prints usage and connection errors as JSON on stdout too', async () => {
      const usage = await cli(['trip', '--json'], env);
      expect(usage.code).toBe(2);
      expect(JSON.parse(usage.stdout)).toEqual({
        error: { message: 'trip needs a breaker name: trip <name> --reason <text>', exitCode: 2 },
      });

      const none = await cli(['--json'], env);
      expect(none.code).toBe(2);
      expect(JSON.parse(none.stdout)).toEqual({
        error: {
          message: 'no command given; expected one of status, trip, reset, disable, audit, dead-letters',
          exitCode: 2,
        },
      });

      const crashed = await cli(['status', '--json'], { ...env, NEST_RESILIENCE_URL: `${other}/crashed` });
      expect(JSON.parse(crashed.stdout)).toEqual({
        error: {
          message: `${other}/crashed answered HTTP 500 Internal Server Error with no body`,
          exitCode: 1,
          status: 500,
        },
      });
    });
  });
});
