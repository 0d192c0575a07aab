import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/**
 * A failed call the caller ignores must still reach `unhandledRejection` (the breaker handles
 * the outcome, not the caller's promise), and a handled one must not. Node reports unhandled
 * rejections after the microtask queue drains, so this runs in a child process of its own.
 */
const script = `
const { Breaker } = require(${JSON.stringify(join(root, 'src/core/breaker.ts'))});
const seen = [];
process.on('unhandledRejection', (error) => seen.push(error.message));
const untimed = new Breaker('untimed');
const timed = new Breaker('timed');
timed.on('failure', () => undefined);
const withTimeout = new Breaker('with-timeout', { timeout: 60000 });
for (const breaker of [untimed, timed, withTimeout]) {
  breaker.execute(async () => { throw new Error('ignored by caller: ' + breaker.name); });
  breaker.execute(async () => { throw new Error('handled: ' + breaker.name); }).catch(() => undefined);
}
setImmediate(() => console.log(JSON.stringify(seen.sort())));
`;

describe('Unhandled rejections', () => {
  it('reach the process for failed calls the caller ignores, and only for those', async () => {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--require', join(root, 'test/support/swc-register.js'), '--eval', script],
        { cwd: root, timeout: 10_000 },
        (error, out, err) => (error ? reject(error) : resolve({ stdout: out, stderr: err })),
      );
    });

    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual([
      'ignored by caller: timed',
      'ignored by caller: untimed',
      'ignored by caller: with-timeout',
    ]);
  }, 15_000);
});
