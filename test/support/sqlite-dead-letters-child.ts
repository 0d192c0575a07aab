/**
 * Child process of the dead-letter multi-process tests: keeps `count` dead letters (0: until
 * killed) through the sqlite store on `file`, one after the other, and prints each one's id
 * once the store has it; a letter the store could not keep is printed as `lost: <error>`.
 * Usage: node --require ./swc-register.js sqlite-dead-letters-child.ts <file> <driver> <count> <tag>
 */
import type { SqliteDriverName } from '../../src/stores/sqlite-drivers/sqlite-driver';
import { SqliteStore } from '../../src/stores/sqlite.store';

const [file, driver, count, tag] = process.argv.slice(2);
const fail = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};
const store = new SqliteStore(
  { type: 'sqlite', path: file, driver: driver as SqliteDriverName },
  { warn: fail, error: fail },
);

async function main(): Promise<void> {
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
  await store.close();
}

void main();
