import { loadSqliteDriver, type SqliteRuntime } from '../../src/stores/sqlite-drivers/load-sqlite-driver';

/** A stand-in for a driver module: a database that opens and closes, and nothing more. */
class FakeDatabase {
  close(): void {}
}
const DRIVER_MODULE = Object.assign(FakeDatabase, { Database: FakeDatabase, DatabaseSync: FakeDatabase });

const notFound = (id: string): Error =>
  Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });

/** A process of `name` whose modules load as `modules` says: a module, or the error loading it throws. */
function runtime(name: string, modules: Record<string, unknown>): SqliteRuntime {
  return {
    name,
    isBun: name.startsWith('Bun'),
    load: (id) => {
      const found = modules[id];
      if (found === undefined) throw notFound(id);
      if (found instanceof Error) throw found;
      return found;
    },
  };
}

const BROKEN = new Error(
  'The module was compiled against NODE_MODULE_VERSION 115. This version requires 127.',
);

/** better-sqlite3 as another Node's build of it loads: its JavaScript does, its native part fails at the first database. */
const BUILT_FOR_ANOTHER_NODE = class {
  constructor() {
    throw BROKEN;
  }
};

describe('Choosing the SQLite driver', () => {
  describe("with driver 'auto'", () => {
    it('should take better-sqlite3 when it is installed and loads', () => {
      const chosen = loadSqliteDriver(
        'auto',
        runtime('Node 24.22.3', { 'better-sqlite3': DRIVER_MODULE, 'node:sqlite': DRIVER_MODULE }),
      );

      expect(chosen.driver.name).toBe('better-sqlite3');
      expect(chosen.passedOver).toBeUndefined();
    });

    it('should take node:sqlite on a Node without better-sqlite3, and say nothing about it', () => {
      const chosen = loadSqliteDriver('auto', runtime('Node 22.23.5', { 'node:sqlite': DRIVER_MODULE }));

      expect(chosen.driver.name).toBe('node:sqlite');
      expect(chosen.passedOver).toBeUndefined();
    });

    it('should take node:sqlite when better-sqlite3 is installed but built for another Node, and say why', () => {
      const chosen = loadSqliteDriver(
        'auto',
        runtime('Node 24.22.3', { 'better-sqlite3': BUILT_FOR_ANOTHER_NODE, 'node:sqlite': DRIVER_MODULE }),
      );

      expect(chosen.driver.name).toBe('node:sqlite');
      expect(chosen.passedOver).toBe(BROKEN.message);
    });

    it('should take bun:sqlite on Bun, where better-sqlite3 cannot load', () => {
      const chosen = loadSqliteDriver(
        'auto',
        runtime('Bun 1.4.5', {
          'better-sqlite3': new Error("'better-sqlite3' is not yet supported in Bun."),
          'bun:sqlite': DRIVER_MODULE,
          'node:sqlite': DRIVER_MODULE,
        }),
      );

      expect(chosen.driver.name).toBe('bun:sqlite');
    });

    it('should fail with one message naming both ways out when no driver loads', () => {
      expect(() => loadSqliteDriver('auto', runtime('Node 20.20.2', {}))).toThrow(
        "The sqlite store found no SQLite driver on Node 20.20.2: better-sqlite3 is not installed, and node:sqlite is not built in (Cannot find module 'node:sqlite'). " +
          'Either install better-sqlite3 (`npm install better-sqlite3`), or run on a Node that has node:sqlite (>= 22.13), on Bun or on Deno',
      );
    });

    it('should pass on why an installed better-sqlite3 did not load when nothing else does', () => {
      expect(() => loadSqliteDriver('auto', runtime('Node 20.20.2', { 'better-sqlite3': BROKEN }))).toThrow(
        `better-sqlite3 did not load (${BROKEN.message}), and node:sqlite is not built in`,
      );
    });
  });

  describe('with a driver named', () => {
    it('should load the one named, even when better-sqlite3 loads', () => {
      const modules = {
        'better-sqlite3': DRIVER_MODULE,
        'node:sqlite': DRIVER_MODULE,
        'bun:sqlite': DRIVER_MODULE,
      };

      expect(loadSqliteDriver('node:sqlite', runtime('Node 22.23.5', modules)).driver.name).toBe(
        'node:sqlite',
      );
      expect(loadSqliteDriver('bun:sqlite', runtime('Bun 1.4.5', modules)).driver.name).toBe('bun:sqlite');
    });

    it('should explain how to install better-sqlite3 when it is missing', () => {
      expect(() => loadSqliteDriver('better-sqlite3', runtime('Node 20.20.2', {}))).toThrow(
        'The sqlite store needs the optional peer dependency better-sqlite3, which is not installed: run `npm install better-sqlite3`',
      );
    });

    it('should pass on why better-sqlite3 failed to load when it is installed but broken', () => {
      expect(() =>
        loadSqliteDriver('better-sqlite3', runtime('Node 24.22.3', { 'better-sqlite3': BROKEN })),
      ).toThrow(`The sqlite store could not load better-sqlite3: ${BROKEN.message}`);
    });

    it.each([
      ['node:sqlite', 'Node 20.20.2', 'it is built into Node >= 22.13 and Deno 2.2+'],
      ['bun:sqlite', 'Node 22.23.5', 'it exists only on Bun'],
    ] as const)(
      'should refuse %s where %s does not have it, saying where it exists',
      (driver, name, where) => {
        expect(() => loadSqliteDriver(driver, runtime(name, {}))).toThrow(
          `The sqlite store's driver ${driver} is not built into ${name} (Cannot find module '${driver}'): ${where}; ` +
            "install better-sqlite3 (`npm install better-sqlite3`) or leave driver at 'auto'",
        );
      },
    );
  });

  describe("node:sqlite's ExperimentalWarning", () => {
    const emitWarning = process.emitWarning;
    let emitted: unknown[][];

    beforeEach(() => {
      emitted = [];
      process.emitWarning = ((...args: unknown[]) => void emitted.push(args)) as typeof process.emitWarning;
    });
    afterEach(() => {
      process.emitWarning = emitWarning;
    });

    /** node:sqlite as Node 22 loads it: it warns, with another warning beside. */
    const warningNodeSqlite = runtime('Node 22.23.5', {
      get 'node:sqlite'() {
        process.emitWarning(
          'SQLite is an experimental feature and might change at any time',
          'ExperimentalWarning',
        );
        process.emitWarning('Something else', 'DeprecationWarning');
        return DRIVER_MODULE;
      },
    });

    it('should not be printed when the store loads node:sqlite, while every other warning is', () => {
      loadSqliteDriver('node:sqlite', warningNodeSqlite);

      expect(emitted).toEqual([['Something else', 'DeprecationWarning']]);
    });

    it('should be printed again once node:sqlite is loaded: the app keeps its own experimental warnings', () => {
      loadSqliteDriver('node:sqlite', warningNodeSqlite);
      process.emitWarning(
        'SQLite is an experimental feature and might change at any time',
        'ExperimentalWarning',
      );

      expect(emitted).toContainEqual([
        'SQLite is an experimental feature and might change at any time',
        'ExperimentalWarning',
      ]);
    });
  });
});
