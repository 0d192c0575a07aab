/**
 * Child process of the dead-letter multi-process tests, through the sqlite store on `file`:
 *
 * - `write <file> <driver> <count> <tag>` keeps `count` dead letters (0: until killed), one after
 *   the other, and prints each one's id once the store has it; a letter the store could not keep
 *   is printed as `lost: <error>`.
 * - `replay <file> <driver> <id>` prints `ready`, replays the letter `id` on SIGUSR2 through
 *   `DeadLetters` (its call prints `ran`, then waits for SIGHUP), and prints the outcome:
 *   `succeeded`, `failed`, or the error's code (`REPLAY_IN_PROGRESS`).
 *
 * Usage: node --require ./swc-register.js sqlite-dead-letters-child.ts <mode> <file> <driver> …
 */
import { once } from 'node:events';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import type { BreakerStore } from '../../src/stores/breaker-store';
import type { SqliteDriverName } from '../../src/stores/sqlite-drivers/sqlite-driver';
import { SqliteStore } from '../../src/stores/sqlite.store';

const [mode, file, driver, ...rest] = process.argv.slice(2);
const fail = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};
const store = new SqliteStore(
  { type: 'sqlite', path: file, driver: driver as SqliteDriverName },
  { warn: fail, error: fail },
);

async function write(count: string, tag: string): Promise<void> {
  const total = Number(count);
  for (let n = 1; total === 0 || n <= total; n++) {
    try {
      const { id } = await store.deadLetters.add({
        policy: 'payments',
        args: [`${tag}-${n}`, { amount: n, note: 'x'.repeat(2_000) }],
        error: { name: 'Error', message: `payment ${n} failed` },
        attempts: 1,
        at: Date.now(),
      });
      process.stdout.write(`${id}\n`);
    } catch (error) {
      process.stdout.write(`lost: ${String(error)}\n`);
    }
  }
}

async function replay(id: string): Promise<void> {
  const deadLetters = new DeadLetters(store as BreakerStore);
  deadLetters.registerReplayer('payments', async () => {
    process.stdout.write('ran\n');
    await once(process, 'SIGHUP');
  });
  // Listening before saying ready: a signal sent at once neither is lost nor ends the process.
  const go = once(process, 'SIGUSR2');
  process.on('SIGHUP', () => undefined);
  // A signal listener does not keep a process alive: this does, until the replay ends.
  const alive = setInterval(() => undefined, 60_000);
  process.stdout.write('ready\n');
  await go;
  try {
    const outcome = await deadLetters.replay(id);
    process.stdout.write(outcome.ok ? 'succeeded\n' : 'failed\n');
  } catch (error) {
    process.stdout.write(`${(error as { code?: string }).code ?? String(error)}\n`);
  }
  clearInterval(alive);
}

async function main(): Promise<void> {
  await (mode === 'replay' ? replay(rest[0]) : write(rest[0], rest[1]));
  await store.close();
}

void main();
