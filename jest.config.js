/** @type {import('jest').Config} */
module.exports = {
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
};
