import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AuditEntry } from '../../src/core/audit-log';
import { CIRCUIT_STATES } from '../../src/core/circuit-state';
import { BreakerRegistry } from '../../src/core/registry';
import { SqliteStore } from '../../src/stores/sqlite.store';
import { killHard, readLines, spawnTs } from '../support/child-process';
import { SQLITE_TEST_DRIVERS, sqliteDriver } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';

const CHILD = join(__dirname, '../support/sqlite-crash-child.ts');

describe.each(SQLITE_TEST_DRIVERS)('SqliteStore under kill -9 on %s', (driver) => {
  const dir = useTempDir();
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child) await killHard(child);
  });

  it('should leave an intact file that holds every transition reported before the kill', async () => {
    const path = join(dir(), 'crash.db');
    child = spawnTs(CHILD, [path, driver]);
    // Somewhere in the middle of the traffic: the child writes continuously (5 ms flushes, a transition every few calls).
    const lines = await readLines(child, 300 + Math.floor(Math.random() * 1_500));
    await killHard(child);
    const reported = lines.map((line) => JSON.parse(line) as AuditEntry);

    const db = sqliteDriver(driver).open(path);
    try {
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
      const stored = new Map<string, number>();
      for (const row of db
        .prepare('SELECT breaker, action, from_state, to_state, reason, actor, at FROM audit_log')
        .all()) {
        const key = JSON.stringify(Object.values(row as object));
        stored.set(key, (stored.get(key) ?? 0) + 1);
      }
      const missing = reported.filter((e) => {
        const key = JSON.stringify([e.breaker, e.action, e.from, e.to, e.reason, e.actor, e.at]);
        const left = stored.get(key) ?? 0;
        stored.set(key, left - 1);
        return left === 0;
      });
      expect(missing).toEqual([]);
      expect(new Set(reported.map((e) => e.action))).toEqual(
        new Set(['transition', 'trip', 'reset', 'disable']),
      );

      const states = db
        .prepare<[], { name: string; state: string }>('SELECT name, state FROM breaker_state')
        .all();
      expect(states.map((s) => s.name).sort()).toEqual(['cache', 'llm', 'payments']);
      for (const { state } of states) expect(CIRCUIT_STATES).toContain(state);
    } finally {
      db.close();
    }

    const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const store = new SqliteStore({ type: 'sqlite', path, driver }, logger);
    const registry = new BreakerRegistry({ breakers: { payments: {} }, auditLog: store.auditLog });
    store.attach(registry);
    await registry.get('payments').trip('after the crash');
    await store.close();
    expect(logger.warn).not.toHaveBeenCalled();
    expect(logger.error).not.toHaveBeenCalled();
  }, 30_000);
});
