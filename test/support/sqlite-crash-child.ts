/**
 * Child process of the kill -9 test: drives traffic, transitions and manual actions through a
 * registry backed by the sqlite store, and prints each audit entry (one JSON line) only once
 * the store has confirmed it: after a manual action's promise settled, or after `flush()`.
 * Usage: node --require ./swc-register.js sqlite-crash-child.ts <file> <driver>
 */
import type { AuditEntry } from '../../src/core/audit-log';
import { BreakerRegistry } from '../../src/core/registry';
import type { SqliteDriverName } from '../../src/stores/sqlite-drivers/sqlite-driver';
import { SqliteStore } from '../../src/stores/sqlite.store';

const fail = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};
const store = new SqliteStore(
  { type: 'sqlite', path: process.argv[2], driver: process.argv[3] as SqliteDriverName, flushInterval: 5 },
  { warn: fail, error: fail },
);
const registry = new BreakerRegistry({
  defaults: { failureThreshold: 3, window: { type: 'count', size: 10 }, openDuration: 5, resetCooldown: 0 },
  breakers: { payments: {}, llm: {}, cache: {} },
  auditLog: store.auditLog,
});
store.attach(registry);

const seen: AuditEntry[] = [];
for (const breaker of registry.all()) {
  breaker.on('stateChange', (e) => {
    if (!e.manual)
      seen.push({
        breaker: e.breaker,
        action: 'transition',
        from: e.from,
        to: e.to,
        reason: e.reason,
        actor: e.actor,
        at: e.at,
      });
  });
  breaker.on('control', (e) => {
    seen.push({
      breaker: e.breaker,
      action: e.action,
      from: e.from,
      to: e.to,
      reason: e.reason,
      actor: e.actor,
      at: e.at,
    });
  });
}

/** Prints what the store has confirmed so far. */
function report(): void {
  for (const entry of seen.splice(0)) process.stdout.write(`${JSON.stringify(entry)}\n`);
}

async function main(): Promise<never> {
  for (let round = 0; ; round++) {
    for (const breaker of registry.all()) {
      for (let i = 0; i < 20; i++) {
        await breaker
          .execute(() => {
            if (Math.random() < 0.4) throw new Error('downstream failed');
          })
          .catch(() => undefined);
      }
      await store.flush();
      report();
      await breaker.trip('chaos drill', 'child');
      report();
      await (round % 3 === 0
        ? breaker.disable('maintenance', 'child')
        : breaker.reset({ force: true, actor: 'child' }));
      report();
      await breaker.reset({ force: true, actor: 'child' });
      report();
    }
  }
}

void main();
