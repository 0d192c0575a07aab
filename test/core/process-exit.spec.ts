import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/**
 * Runs in a child process on the TypeScript sources: 10,000 breakers, half of them opened
 * (by failures and by hand), with a timeout configured on every one. The process must end
 * by itself: no breaker may hold a timer or a handle once its calls are done. A held timer
 * (60 s timeout, 600 s open period) would outlive the 10 s kill, so the exit code tells.
 */
const script = `
const { BreakerRegistry } = require(${JSON.stringify(join(root, 'src/core/registry.ts'))});
const registry = new BreakerRegistry({ defaults: { failureThreshold: 1, timeout: 60000, openDuration: 600000 } });
const opened = [];
for (let i = 0; i < 10000; i++) {
  const breaker = registry.get('dep-' + i);
  if (i % 4 === 0) opened.push(breaker.trip('test'));
  else if (i % 4 === 1) opened.push(breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined));
  else opened.push(breaker.execute(() => 'ok'));
}
Promise.all(opened).then(() => {
  const states = {};
  for (const b of registry.all()) states[b.state] = (states[b.state] || 0) + 1;
  console.log(JSON.stringify(states));
});
`;

/**
 * A policy's total timeout and a breaker's timeout each keep one timer for all their calls:
 * it must not hold the process open once no call runs (60 s), yet must while one does (the
 * hung calls below have nothing else keeping the process alive, and must still time out).
 */
const timeoutScript = `
const { Policies } = require(${JSON.stringify(join(root, 'src/core/policies/policies.ts'))});
const { Breaker } = require(${JSON.stringify(join(root, 'src/core/breaker.ts'))});
const settled = new Policies('settled', { timeout: 60000, retry: { attempts: 2, delay: 10 } });
const hung = new Policies('hung', { timeout: 200 });
const breaker = new Breaker('settled', { timeout: 60000 });
const hungBreaker = new Breaker('hung', { timeout: 300 });
settled.execute(async () => 'ok').then((value) => console.log(value));
breaker.execute(async () => 'ok').then((value) => console.log(value));
hung.execute(() => new Promise(() => undefined)).catch((error) => console.log(error.code));
hungBreaker.execute(() => new Promise(() => undefined)).catch((error) => console.log(error.code));
// Its timer outlives its first call, no longer holding the process; the hung call after must again.
const reused = new Breaker('reused', { timeout: 400 });
reused.execute(async () => 'ok').then(() =>
  reused.execute(() => new Promise(() => undefined)).catch((error) => console.log('again', error.code)),
);
`;

/**
 * A Nest app closes while a breaker's call and a policy's call hang (60 s timeouts) and a call
 * waits 60 s to retry, its shutdown waiting 50 ms for them: once closed, no timer may hold the
 * process open, and the retry is not made.
 */
const closedAppScript = `
require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { ResilienceModule } = require(${JSON.stringify(join(root, 'src/nest/resilience.module.ts'))});
const { BreakerRegistry } = require(${JSON.stringify(join(root, 'src/core/registry.ts'))});
const { PolicyRegistry } = require(${JSON.stringify(join(root, 'src/nest/policy-registry.ts'))});
class App {}
Module({ imports: [ResilienceModule.forRoot({ metrics: false, shutdownTimeout: 50,
  breakers: { hung: { timeout: 60000 } },
  policies: { hung: { timeout: 60000 }, backoff: { retry: { attempts: 1, delay: 60000, jitter: 'none' } },
    narrow: { bulkhead: { maxConcurrent: 1, maxQueue: 1, queueTimeout: 60000 } } } })] })(App);
(async () => {
  const app = await NestFactory.createApplicationContext(App, { logger: false });
  const hang = () => new Promise(() => undefined);
  app.get(BreakerRegistry).get('hung').execute(hang).catch(() => undefined);
  app.get(PolicyRegistry).get('hung').execute(hang).catch(() => undefined);
  let attempts = 0;
  const retried = app.get(PolicyRegistry).get('backoff')
    .execute(async () => { attempts++; throw new Error('down'); })
    .catch((error) => error.message);
  const narrow = app.get(PolicyRegistry).get('narrow');
  narrow.execute(hang).catch(() => undefined);
  const queued = narrow.execute(async () => 'ran').catch((error) => error.code);
  await app.close();
  console.log('closed');
  console.log(await retried, attempts);
  console.log(await queued);
})();
`;

/**
 * Fifty calls wait at once to retry (60 s), then their policy closes: each ends with its last
 * error, nothing warns (Node warns past ten listeners on one signal), and the process exits.
 */
const waitingRetriesScript = `
const { Policies } = require(${JSON.stringify(join(root, 'src/core/policies/policies.ts'))});
const policies = new Policies('p', { retry: { attempts: 3, delay: 60000, jitter: 'none', budget: false } });
const calls = Array.from({ length: 50 }, () => policies.execute(async () => { throw new Error('down'); }));
setTimeout(async () => {
  policies.close();
  const outcomes = await Promise.allSettled(calls);
  console.log(outcomes.filter((o) => o.status === 'rejected' && o.reason.message === 'down').length);
}, 50);
`;

/** Runs `script` in a child process on the TypeScript sources; SIGKILLed after 10 s. */
function runScript(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', join(root, 'test/support/swc-register.js'), '--eval', script],
      { cwd: root, timeout: 10_000, killSignal: 'SIGKILL' },
      (error, out, err) =>
        resolve({ code: error ? (error.code as number | null) : 0, stdout: out, stderr: err }),
    );
  });
}

describe('Process exit', () => {
  it('ends every call waiting to retry when its policy closes, with no listener-leak warning', async () => {
    const { code, stdout, stderr } = await runScript(waitingRetriesScript);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('50');
  }, 15_000);

  it('lets a process with 10,000 breakers, half of them open, exit by itself', async () => {
    const { code, stdout, stderr } = await runScript(script);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ forced_open: 2_500, open: 2_500, closed: 5_000 });
  }, 15_000);

  it('lets a process exit once its policies and breakers have no call running, and times out a call that holds nothing', async () => {
    const { code, stdout, stderr } = await runScript(timeoutScript);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'ok',
      'ok',
      'TIMEOUT',
      'BREAKER_TIMEOUT',
      'again BREAKER_TIMEOUT',
    ]);
  }, 15_000);

  it('lets a process exit once its Nest app closed, though calls it stopped waiting for still hang', async () => {
    const { code, stdout, stderr } = await runScript(closedAppScript);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The retry waiting out its backoff ends with its last error, and makes no attempt after.
    // So does a call queued in a bulkhead, refused rather than kept waiting out its queueTimeout.
    expect(stdout.trim().split('\n')).toEqual(['closed', 'down 1', 'BULKHEAD_FULL']);
  }, 15_000);
});
