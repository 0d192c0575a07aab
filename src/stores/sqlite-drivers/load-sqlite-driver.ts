import { createRequire } from 'node:module';
import { requireOptional } from '../../core/optional-peer';
import * as messages from '../store-messages';
import { adaptDriver, type DriverDatabase } from './adapt-driver';
import type { SqliteDriver, SqliteDriverName, SqliteDriverOption } from './sqlite-driver';

/** What choosing a driver needs to know of the process; tests hand in their own. */
export interface SqliteRuntime {
  /** `require`, for the driver modules: a module that cannot load throws. */
  load(id: SqliteDriverName): unknown;
  /** Where it runs, for messages: `Node 20.20.2`, `Bun 1.4.5`, `Deno 2.9.6`. */
  readonly name: string;
  readonly isBun: boolean;
}

/** The driver the store works through, and why `auto` passed over an installed better-sqlite3. */
export interface ChosenSqliteDriver {
  readonly driver: SqliteDriver;
  readonly passedOver?: string;
}

/**
 * Loads the driver `option` names. Driver modules are required here, when the sqlite store is
 * asked for, and never by the package's entry point.
 * @throws naming the driver, why it cannot load, and the ways out.
 */
export function loadSqliteDriver(
  option: SqliteDriverOption = 'auto',
  runtime: SqliteRuntime = currentRuntime(),
): ChosenSqliteDriver {
  if (option !== 'auto') {
    try {
      return { driver: DRIVERS[option](runtime) };
    } catch (error) {
      throw new Error(unavailable(option, runtime, error), { cause: error });
    }
  }
  let betterSqlite3: string;
  let passedOver: string | undefined;
  try {
    return { driver: DRIVERS['better-sqlite3'](runtime) };
  } catch (error) {
    const missing = isMissing(error, 'better-sqlite3');
    if (!missing) passedOver = messages.reasonOf(error);
    betterSqlite3 = missing ? 'is not installed' : `did not load (${passedOver})`;
  }
  const builtIn = runtime.isBun ? 'bun:sqlite' : 'node:sqlite';
  try {
    return { driver: DRIVERS[builtIn](runtime), passedOver };
  } catch (error) {
    throw new Error(
      messages.SQLITE_NO_DRIVER(runtime.name, betterSqlite3, builtIn, messages.reasonOf(error)),
      { cause: error },
    );
  }
}

type DatabaseClass = new (path: string) => DriverDatabase;

/** Each driver from its module; a module that cannot load throws the runtime's own error. */
const DRIVERS: Record<SqliteDriverName, (runtime: SqliteRuntime) => SqliteDriver> = {
  'better-sqlite3': (runtime) => {
    const Database = runtime.load('better-sqlite3') as DatabaseClass;
    // Its native part loads with the first database: one built for another Node fails only there.
    new Database(':memory:').close();
    return adaptDriver('better-sqlite3', (path) => new Database(path));
  },
  'node:sqlite': (runtime) => {
    const { DatabaseSync } = withoutSqliteWarning(runtime) as { DatabaseSync: DatabaseClass };
    return adaptDriver('node:sqlite', (path) => new DatabaseSync(path));
  },
  'bun:sqlite': (runtime) => {
    const { Database } = runtime.load('bun:sqlite') as { Database: DatabaseClass };
    return adaptDriver('bun:sqlite', (path) => new Database(path));
  },
};

/** Why the driver named cannot be used, and what to do instead. */
function unavailable(driver: SqliteDriverName, runtime: SqliteRuntime, error: unknown): string {
  const reason = messages.reasonOf(error);
  if (driver !== 'better-sqlite3') return messages.SQLITE_BUILT_IN_MISSING(driver, runtime.name, reason);
  return isMissing(error, driver) ? messages.SQLITE_DRIVER_MISSING() : messages.SQLITE_DRIVER_BROKEN(reason);
}

/**
 * Loads node:sqlite without the `ExperimentalWarning` Node 22 prints when it is first loaded
 * (Node 24.22 no longer does): the app did not choose an experimental feature, the store did.
 * Only that warning, and only while it loads; every other warning passes.
 */
function withoutSqliteWarning(runtime: SqliteRuntime): unknown {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: unknown } | undefined)?.type;
    if (type === 'ExperimentalWarning' && String(warning).startsWith('SQLite is an experimental feature'))
      return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return runtime.load('node:sqlite');
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** Whether `error` says the module itself is not installed (not one of its own imports). */
function isMissing(error: unknown, id: string): boolean {
  return (error as { code?: unknown }).code === 'MODULE_NOT_FOUND' && messages.reasonOf(error).includes(id);
}

/** Node's own error for a module that is not installed, which `requireOptional` answers with undefined. */
function notFound(id: string): never {
  throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
}

/**
 * The runtime's own require, for its built-in drivers: bundlers do not follow it, and need not
 * (a built-in is never bundled; webpack fails the build on a literal `bun:` module).
 */
const requireBuiltIn = createRequire(__filename);

function currentRuntime(): SqliteRuntime {
  const { bun, deno, node } = process.versions as Record<string, string | undefined>;
  return {
    load: (id) => (id === 'better-sqlite3' ? (requireOptional(id) ?? notFound(id)) : requireBuiltIn(id)),
    name: bun ? `Bun ${bun}` : deno ? `Deno ${deno}` : `Node ${node}`,
    isBun: bun !== undefined,
  };
}
