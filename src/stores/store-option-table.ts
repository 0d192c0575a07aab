import { checkVariant, rules, type OptionTable } from '../core/option-table';
import { SQLITE_DRIVER_OPTIONS } from './sqlite-drivers/sqlite-driver';
import type { StoreOptions } from './store-options';

type SqliteOptions = Extract<StoreOptions, { type: 'sqlite' }>;

const MEMORY: OptionTable<Extract<StoreOptions, { type: 'memory' }>> = {
  type: { check: (v) => v === 'memory', expected: "'memory'", required: true },
};

const SQLITE: OptionTable<SqliteOptions> = {
  type: { check: (v) => v === 'sqlite', expected: "'sqlite'", required: true },
  path: { ...rules.nonEmptyString('the path of the SQLite file, a non-empty string'), required: true },
  flushInterval: { ...rules.duration(), default: 5_000 },
  driver: {
    check: (v) => (SQLITE_DRIVER_OPTIONS as readonly unknown[]).includes(v),
    expected: `one of ${SQLITE_DRIVER_OPTIONS.map((d) => `'${d}'`).join(', ')}`,
    default: 'auto',
  },
};

/** The store options of each `type`: one table per store (a new store adds one). */
export const STORE_OPTIONS = { memory: MEMORY, sqlite: SQLITE } as const;

/**
 * Checks `store` options by their `type`, naming keys as `store.<key>`.
 * @throws {InvalidBreakerOptionsError} (scope `store`) on a bad or unknown key.
 */
export function checkStoreOptions(options: unknown): asserts options is StoreOptions {
  checkVariant({ scope: 'store' }, 'type', STORE_OPTIONS, options, 'store');
}

/** The sqlite store's `flushInterval`, or its default. */
export const flushIntervalOf = (options: SqliteOptions): number =>
  options.flushInterval ?? (SQLITE.flushInterval.default as number);
