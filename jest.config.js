const { existsSync } = require('node:fs');
const { join } = require('node:path');

/** The peers the repository installs: Nest 12, Terminus 12, reflect-metadata 0.2, better-sqlite3 12. */
const nest12 = {
  displayName: 'nest12',
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/sample-app'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  // The sample app imports the package by its name, as a user would; tests run it from source.
  moduleNameMapper: {
    '^nest-resilience$': '<rootDir>/src/index.ts',
    '^nest-resilience/core$': '<rootDir>/src/core/index.ts',
    '^nest-resilience/terminus$': '<rootDir>/src/terminus/index.ts',
  },
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  // Nest 12 packages (and their ESM dependencies) are ESM-only; Jest on Node < 24.9 cannot require() ESM.
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|file-type|strtok3|token-types|uint8array-extras|@tokenizer|@borewit|@standard-schema)/)',
  ],
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/sample-app/dist'],
  globals: {
    EXPECTED_PEERS: {
      '@nestjs/core': '12',
      '@nestjs/terminus': '12',
      '@willsoto/nestjs-prometheus': '6.1',
      'reflect-metadata': '0.2',
      'better-sqlite3': '12',
      '@nestjs/microservices': '12',
      '@nestjs/axios': '12',
      '@nestjs/graphql': '14',
      '@nestjs/apollo': '14',
      '@nestjs/websockets': '12',
      '@nestjs/platform-socket.io': '12',
    },
  },
};

/**
 * The oldest peers the package accepts, from `compat/nest11` (Nest 11, Terminus 11,
 * @willsoto/nestjs-prometheus for Nest 11, reflect-metadata 0.1, better-sqlite3 11): every test
 * that runs a Nest app, the indicator, or the sqlite store runs against them too. Every
 * `@nestjs/*` import, the library's own included, resolves there; rxjs and prom-client are the
 * root's, as in an app that has one copy of each.
 */
const compat = join(__dirname, 'compat', 'nest11', 'node_modules');
if (!existsSync(join(compat, '@nestjs', 'core'))) {
  throw new Error(
    'compat/nest11 is not installed, so the tests against Nest 11 cannot run: run `node scripts/install-compat.js` once (npm test does it)',
  );
}
const nest11 = {
  ...nest12,
  displayName: 'nest11',
  testMatch: [
    '<rootDir>/test/{compat,nest,terminus,admin}/**/*.{spec,e2e-spec}.ts',
    '<rootDir>/test/{http,microservices,graphql,opentelemetry,policies,websockets}/**/*.e2e-spec.ts',
    '<rootDir>/test/stores/sqlite-*.ts',
    '<rootDir>/sample-app/**/*.e2e-spec.ts',
  ],
  // Tests that only start child processes would run against the root's peers anyway.
  testPathIgnorePatterns: ['/node_modules/', '/sqlite-crash\\.spec\\.ts$'],
  moduleNameMapper: {
    ...nest12.moduleNameMapper,
    '^@nestjs/(.*)$': `${compat}/@nestjs/$1`,
    '^@willsoto/nestjs-prometheus$': `${compat}/@willsoto/nestjs-prometheus`,
    '^reflect-metadata$': `${compat}/reflect-metadata`,
    '^better-sqlite3$': `${compat}/better-sqlite3`,
  },
  // Nest 11 is CommonJS: nothing in node_modules needs compiling.
  transformIgnorePatterns: ['/node_modules/'],
  globals: {
    EXPECTED_PEERS: {
      '@nestjs/core': '11',
      '@nestjs/terminus': '11',
      '@willsoto/nestjs-prometheus': '6.0',
      'reflect-metadata': '0.1',
      'better-sqlite3': '11',
      '@nestjs/microservices': '11',
      '@nestjs/axios': '4',
      '@nestjs/graphql': '13',
      '@nestjs/apollo': '13',
      '@nestjs/websockets': '11',
      '@nestjs/platform-socket.io': '11',
    },
  },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [nest12, nest11],
  // A worker is replaced once its heap passes this after a test file: suites that load Apollo,
  // microservices and the like would otherwise grow one worker's heap past what the sample
  // app's liveness check (512 MB of heap) accepts.
  workerIdleMemoryLimit: '384MB',
};
