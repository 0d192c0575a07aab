import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQLITE_TEST_DRIVERS } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';
import { runSmoke } from './runtime-smoke';

const root = join(__dirname, '..', '..');
/** The sample app from its sources on this Node, as CI starts the built one on each runtime. */
const SAMPLE = [
  process.execPath,
  '--require',
  join(root, 'test/support/swc-register.js'),
  join(root, 'sample-app/src/main.ts'),
];

/**
 * The runtime smoke against this Node: it passes on a working app, and fails, naming the step,
 * on each way the store can be broken on a runtime.
 */
describe('The runtime smoke', () => {
  const dir = useTempDir();
  const driver = SQLITE_TEST_DRIVERS[0];
  const smoke = (env: Record<string, string> = {}, expected = driver) =>
    runSmoke({ command: SAMPLE, driver: expected, env: { BREAKER_SQLITE_DRIVER: driver, ...env } });

  it('should pass on a working app: breaker, health, metrics and a trip that survives a restart', async () => {
    await expect(smoke()).resolves.toBeUndefined();
  }, 60_000);

  it('should fail when the driver cannot open the file', async () => {
    const notADatabase = join(dir(), 'notes.txt');
    writeFileSync(notADatabase, 'not a database, '.repeat(300));

    await expect(smoke({ BREAKER_DB_PATH: notADatabase })).rejects.toThrow(
      /the app exited \(1\) before it listened:[\s\S]*could not open ".*notes\.txt": file is not a database/,
    );
  }, 60_000);

  it('should fail when the runtime does not have the driver', async () => {
    await expect(smoke({ BREAKER_SQLITE_DRIVER: 'bun:sqlite' })).rejects.toThrow(
      /before it listened:[\s\S]*driver bun:sqlite is not built into Node/,
    );
  }, 60_000);

  it('should fail when the store works through another driver than the runtime should use', async () => {
    await expect(smoke({}, 'bun:sqlite')).rejects.toThrow('smoke step failed: the boot log names the driver');
  }, 60_000);

  it('should fail when state does not survive a restart', async () => {
    await expect(smoke({ BREAKER_DB_PATH: ':memory:' })).rejects.toThrow(
      'smoke step failed: the trip survives the restart (state closed)',
    );
  }, 60_000);
});
