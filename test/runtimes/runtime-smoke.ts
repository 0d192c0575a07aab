/**
 * The end-to-end smoke each runtime CI claims runs: the sample app (built, against dist/) with
 * the sqlite store, started by `command` on that runtime. A breaker opens to 503 +
 * `Retry-After`, `/health` and `/metrics` say so, an operator trips a breaker through the admin
 * API, and the trip is still there after the process restarts. The first step that does not
 * hold throws, naming itself and what the app printed.
 *
 * CI: node --require test/support/swc-register.js test/runtimes/runtime-smoke.ts <driver> <command...>
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDriverName } from '../../src/stores/sqlite-drivers/sqlite-driver';

export interface SmokeOptions {
  /** Starts the sample app on the runtime under test, e.g. `['bun', 'sample-app/dist/main.js']`. */
  command: string[];
  /** The driver the sqlite store must say it works through. */
  driver: SqliteDriverName;
  /** Settings of the app beyond the smoke's own (tests break it on purpose with them). */
  env?: Record<string, string>;
  /** Progress, one line per step. */
  log?: (line: string) => void;
}

const TOKEN = 'smoke-admin-token';
/** Generous: a runtime booting Nest on a shared 2-core machine. */
const BOOT_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 15_000;

/** Runs the smoke; resolves when every step held. */
export async function runSmoke({ command, driver, env = {}, log = () => {} }: SmokeOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nest-resilience-smoke-'));
  const settings = {
    PORT: '0',
    NO_COLOR: '1',
    BREAKER_STORE: 'sqlite',
    BREAKER_DB_PATH: join(dir, 'breakers.db'),
    BREAKER_FAILURE_THRESHOLD: '2',
    BREAKER_OPEN_MS: '600000',
    ADMIN_TOKEN: TOKEN,
    ...env,
  };
  try {
    const first = await startApp(command, settings);
    await first.steps(log, async (http) => {
      check('the boot log names the driver', first.output().includes(`open through ${driver}`));
      check('no ExperimentalWarning is printed', !first.output().includes('ExperimentalWarning'));
      await http('POST', '/downstream/mode', { mode: 'fail' }).expect(200);
      for (let i = 0; i < 2; i++) await http('GET', '/quotes/42/direct').expect(502);
      const rejected = await http('GET', '/quotes/42/direct').expect(503);
      check('503 carries Retry-After in whole seconds', Number(rejected.headers.get('retry-after')) >= 1);
      check('503 names the breaker', rejected.json().breaker === 'downstream-direct');
      const health = (await http('GET', '/health/ready').expect(503)).json();
      const details = health.details.circuit_breakers;
      check('/health shows the breaker open', details.breakers['downstream-direct'].state === 'open');
      check(
        `/health names the store and its driver ${driver}`,
        JSON.stringify(details.store) === JSON.stringify({ type: 'sqlite', status: 'up', driver }),
      );
      const metrics = (await http('GET', '/metrics').expect(200)).text;
      check(
        '/metrics shows the breaker open',
        metrics.includes('circuit_breaker_state{breaker="downstream-direct",state="open"} 1'),
      );
      const tripped = await http('POST', '/resilience/breakers/downstream/trip', { reason: 'smoke' }).expect(
        200,
      );
      check('the admin API trips the breaker', tripped.json().state === 'forced_open');
    });
    await first.stop();

    const second = await startApp(command, settings);
    await second.steps(log, async (http) => {
      const after = (await http('GET', '/resilience/breakers/downstream').expect(200)).json();
      check(`the trip survives the restart (state ${after.state})`, after.state === 'forced_open');
      await http('GET', '/quotes/42/direct').expect(503);
    });
    await second.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function check(step: string, holds: boolean): void {
  if (!holds) throw new Error(`smoke step failed: ${step}`);
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any -- the app's JSON, read field by field
}

type Http = (method: string, path: string, body?: object) => { expect(status: number): Promise<Reply> };

/** Starts the app and waits until it listens; rejects with its output when it exits first. */
function startApp(command: string[], settings: Record<string, string>) {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    env: { ...process.env, ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(`exited (${code ?? signal})`)),
  );
  const listening = new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /Quote \(with fallback\):\s+(http:\/\/localhost:\d+)/.exec(output)?.[1];
      if (url) resolve(url);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    void exited.then((how) => reject(new Error(`the app ${how} before it listened:\n${output}`)));
    setTimeout(
      () => reject(new Error(`the app did not listen within ${BOOT_TIMEOUT_MS} ms:\n${output}`)),
      BOOT_TIMEOUT_MS,
    ).unref();
  });

  return {
    output: () => output,
    /** Runs `steps` against the app; a failing step is reported with what the app printed. */
    async steps(log: (line: string) => void, steps: (http: Http) => Promise<void>): Promise<void> {
      try {
        const base = await listening;
        log(`listening at ${base}`);
        await steps((method, path, body) => ({
          async expect(status) {
            const response = await fetch(base + path, {
              method,
              headers: {
                authorization: `Bearer ${TOKEN}`,
                ...(body && { 'content-type': 'application/json' }),
              },
              body: body && JSON.stringify(body),
            });
            const text = await response.text();
            log(`${method} ${path} -> ${response.status}`);
            check(
              `${method} ${path} answers ${status} (got ${response.status}: ${text.slice(0, 300)})`,
              response.status === status,
            );
            return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
          },
        }));
      } catch (error) {
        child.kill('SIGKILL');
        throw new Error(`${(error as Error).message}\n--- app output ---\n${output}`, { cause: error });
      }
    },
    /** SIGTERM, as a process manager stops it: the app must close (store flushed) and exit. */
    async stop(): Promise<void> {
      child.kill('SIGTERM');
      const timeout = new Promise<string>((resolve) =>
        setTimeout(() => resolve('timeout'), EXIT_TIMEOUT_MS).unref(),
      );
      const how = await Promise.race([exited, timeout]);
      if (how === 'timeout') {
        child.kill('SIGKILL');
        throw new Error(
          `smoke step failed: the app exits on SIGTERM within ${EXIT_TIMEOUT_MS} ms\n${output}`,
        );
      }
    },
  };
}

if (require.main === module) {
  const [driver, ...command] = process.argv.slice(2);
  runSmoke({
    command,
    driver: driver as SqliteDriverName,
    log: (line) => process.stdout.write(`  ${line}\n`),
  }).then(
    () => process.stdout.write(`smoke passed: ${command.join(' ')} (${driver})\n`),
    (error: Error) => {
      process.stderr.write(`smoke FAILED: ${command.join(' ')} (${driver})\n${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
