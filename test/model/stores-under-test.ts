import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Breaker } from '../../src/core/breaker';
import type { BreakerOptions } from '../../src/core/breaker-options';
import type { Clock } from '../../src/core/clock';
import { BreakerRegistry } from '../../src/core/registry';
import type { BreakerStore } from '../../src/stores/breaker-store';
import { createBreakerStore } from '../../src/stores/create-store';
import type { StoreOptions } from '../../src/stores/store-options';

/** One "process" of an app: a registry on a store, and the breaker under test in it. */
export interface AppProcess {
  readonly breaker: Breaker;
  /** Ends the process as `app.close()` would: the store writes what is pending and lets go. */
  stop(): Promise<void>;
}

/**
 * A store the model check runs its commands against. A store that shares or keeps state
 * across processes (SQLite, later Redis) says what a restart keeps; the model applies the same.
 */
export interface StoreUnderTest {
  readonly name: string;
  /** True when a new process finds the breaker as the last one left it; false: it starts afresh. */
  readonly keepsStateAcrossRestarts: boolean;
  /** Prepares one sequence's storage (a fresh file, a key prefix, …). */
  open(): StoreSession;
}

export interface StoreSession {
  start(clock: Clock, options: BreakerOptions): AppProcess;
  /** Removes what `open()` made. */
  dispose(): void;
}

const silent = { warn: () => undefined, error: () => undefined };
const NAME = 'model';

function startOn(store: BreakerStore, clock: Clock, options: BreakerOptions): AppProcess {
  const registry = new BreakerRegistry({ breakers: { [NAME]: options }, clock, auditLog: store.auditLog });
  store.attach(registry);
  return { breaker: registry.get(NAME), stop: () => store.close() };
}

export const memoryStore: StoreUnderTest = {
  name: 'memory',
  keepsStateAcrossRestarts: false,
  open: () => ({
    start: (clock, options) => startOn(createBreakerStore({ type: 'memory' }, silent), clock, options),
    dispose: () => undefined,
  }),
};

export const sqliteStore: StoreUnderTest = {
  name: 'sqlite',
  keepsStateAcrossRestarts: true,
  open: () => {
    const dir = mkdtempSync(join(tmpdir(), 'nest-resilience-model-'));
    const options: StoreOptions = { type: 'sqlite', path: join(dir, 'breakers.db') };
    return {
      start: (clock, breakerOptions) => startOn(createBreakerStore(options, silent), clock, breakerOptions),
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};
