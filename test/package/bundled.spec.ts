import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { consumerWithout, installCopy } from './consumer-project';

const root = resolve(__dirname, '../..');
const esbuild = join(root, 'node_modules', '.bin', 'esbuild');

/**
 * What every Nest app bundled with esbuild marks external: Nest's own lazy imports of packages it
 * can do without. better-sqlite3 is native, so it stays in node_modules.
 */
const EXTERNALS = [
  'class-validator',
  'class-transformer',
  '@nestjs/microservices',
  '@nestjs/microservices/microservices-module.js',
  '@nestjs/websockets/socket-module.js',
  '@nestjs/platform-express',
  'better-sqlite3',
];

interface Metafile {
  outputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }>;
}

/**
 * An app bundled into one file (esbuild --bundle, as for a slim image) with the built package,
 * where the optional peers it does not use (axios, @nestjs/websockets, redis, OpenTelemetry) are
 * not installed. These tests read dist/: `npm test` builds it first.
 */
describe('the published package in a bundled app', () => {
  let consumer: string;
  let build: { status: number | null; errors: string };

  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'index.js')))
      throw new Error('dist/ is missing: run `npm run build` first');
    consumer = consumerWithout([
      'axios',
      '@nestjs/axios',
      '@nestjs/websockets',
      '@nestjs/platform-socket.io',
      '@nestjs/microservices',
      'redis',
      '@redis',
      '@opentelemetry',
    ]);
    installCopy(consumer);
    copyFileSync(join(__dirname, 'fixture', 'bundled-consumer.ts'), join(consumer, 'app.ts'));
    const run = spawnSync(
      esbuild,
      [
        'app.ts',
        '--bundle',
        '--platform=node',
        '--format=cjs',
        '--outfile=out/app.js',
        '--metafile=out/meta.json',
        '--log-level=error',
        '--tsconfig-raw={"compilerOptions":{"experimentalDecorators":true}}',
        ...EXTERNALS.map((name) => `--external:${name}`),
      ],
      { cwd: consumer, encoding: 'utf8' },
    );
    build = { status: run.status, errors: run.stderr };
  });

  afterAll(() => consumer && rmSync(consumer, { recursive: true, force: true }));

  it('builds without marking the optional peers it does not have external', () => {
    expect(build).toEqual({ status: 0, errors: '' });
  });

  it("puts the breakers' series in the app's own prom-client registry, the one it bundled and serves", () => {
    const out = JSON.parse(
      execFileSync(process.execPath, [join('out', 'app.js'), join(consumer, 'breakers.db')], {
        cwd: consumer,
        encoding: 'utf8',
      }),
    ) as { charged: string; series: string[]; logs: string[] };
    expect(out.charged).toBe('charged');
    expect(out.series).toEqual(
      expect.arrayContaining(['circuit_breaker_state', 'circuit_breaker_calls_total']),
    );
    expect(out.logs).toContain(`SQLite store "${join(consumer, 'breakers.db')}" open through better-sqlite3`);
  });

  it('names better-sqlite3 to the bundler, which webpack needs to load it at all', () => {
    const meta = JSON.parse(readFileSync(join(consumer, 'out', 'meta.json'), 'utf8')) as Metafile;
    const required = Object.values(meta.outputs).flatMap((output) =>
      output.imports.filter((entry) => entry.kind === 'require-call').map((entry) => entry.path),
    );
    expect(required).toContain('better-sqlite3');
  });
});
