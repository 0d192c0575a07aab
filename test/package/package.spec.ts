import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { consumerWithout, installCopy } from './consumer-project';

const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  peerDependenciesMeta: Record<string, unknown>;
};
/** Every optional peer, and what the development install holds only for them or for tests. */
const OPTIONAL_PEERS = [
  ...Object.keys(manifest.peerDependenciesMeta),
  '@willsoto/nestjs-prometheus',
  '@nestjs/apollo',
  '@apollo',
  'ioredis',
  '@nats-io',
  '@redis',
];

/**
 * A consumer project in a temp folder whose node_modules holds this package (as a link to the
 * checkout) next to its dependencies: it resolves `nest-resilience` the way an installed copy is.
 * These tests read dist/: `npm test` builds it first.
 */
describe('the published package', () => {
  let consumer: string;

  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'index.js')))
      throw new Error('dist/ is missing: run `npm run build` first');
    consumer = mkdtempSync(join(tmpdir(), 'nest-resilience-consumer-'));
    const modules = join(consumer, 'node_modules');
    mkdirSync(modules);
    for (const entry of readdirSync(join(root, 'node_modules'))) {
      if (!entry.startsWith('.')) symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
    }
    symlinkSync(root, join(modules, 'nest-resilience'));
    copyFileSync(join(__dirname, 'fixture', 'consumer.ts'), join(consumer, 'consumer.ts'));
  });

  afterAll(() => consumer && rmSync(consumer, { recursive: true, force: true }));

  it('ships every file its Markdown links to, so no link in an installed copy is dead', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: root,
        encoding: 'utf8',
      }),
    ) as Array<{ files: Array<{ path: string }> }>;
    const shipped = new Set(pack.files.map((file) => file.path));
    const dead = [...shipped]
      .filter((file) => file.endsWith('.md'))
      .flatMap((file) =>
        [...readFileSync(join(root, file), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)]
          .map((link) => link[1])
          .filter((target) => !/^([a-z]+:|#)/.test(target))
          .map((target) => ({ file, target, path: posix.join(posix.dirname(file), target.split('#')[0]) }))
          .filter(({ path }) => !shipped.has(path) && ![...shipped].some((f) => f.startsWith(`${path}/`))),
      )
      .map(({ file, target }) => `${file} -> ${target}`);
    expect(dead).toEqual([]);
  });

  it('loads with require() and exposes the contract names', () => {
    const script = `
      const m = require('nest-resilience');
      const t = require('nest-resilience/terminus');
      const names = ['Breaker', 'BreakerRegistry', 'CircuitState', 'BreakerOpenError', 'BreakerTimeoutError',
        'ResetCooldownError', 'InvalidBreakerOptionsError', 'ResilienceError', 'ResilienceModule', 'CircuitBreaker',
        'CircuitBreakerInterceptor', 'InvalidBreakerKeyError', 'TooManyBreakersError'];
      const missing = names.filter((n) => m[n] === undefined);
      if (t.BreakerHealthIndicator === undefined) missing.push('terminus.BreakerHealthIndicator');
      process.stdout.write(JSON.stringify({ missing, open: m.CircuitState.OPEN }));
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { cwd: consumer, encoding: 'utf8' }),
    );
    expect(out).toEqual({ missing: [], open: 'open' });
  });

  it('boots an HTTP app with outgoing HTTP on, where no optional transport peer is installed', async () => {
    const bare = consumerWithout([
      '@nestjs/microservices',
      '@nestjs/axios',
      '@nestjs/graphql',
      '@nestjs/apollo',
      '@nestjs/websockets',
      '@nestjs/platform-socket.io',
      'axios',
      'graphql',
      '@apollo',
      '@opentelemetry',
      'ioredis',
      '@nats-io',
    ]);
    try {
      const script = `
        require('reflect-metadata');
        const { Controller, Get, Inject, Module } = require('@nestjs/common');
        const { NestFactory } = require('@nestjs/core');
        const { BreakerRegistry, ResilienceModule } = require('nest-resilience');
        const absent = ['@nestjs/microservices', '@nestjs/axios', '@nestjs/websockets', 'axios', 'graphql', '@opentelemetry/api']
          .filter((name) => { try { require.resolve(name); return false; } catch { return true; } });
        class Quotes {
          constructor(registry) { this.registry = registry; }
          quote() { return this.registry.get('quotes').execute(() => { throw new Error('down'); }); }
        }
        Inject(BreakerRegistry)(Quotes, undefined, 0);
        Get('quote')(Quotes.prototype, 'quote', Object.getOwnPropertyDescriptor(Quotes.prototype, 'quote'));
        Controller()(Quotes);
        class App {}
        Module({
          imports: [ResilienceModule.forRoot({ metrics: false, http: { fetch: true, axios: true },
            breakers: { quotes: { failureThreshold: 1 } } })],
          controllers: [Quotes],
        })(App);
        (async () => {
          const app = await NestFactory.create(App, { logger: false });
          await app.listen(0, '127.0.0.1');
          const url = (await app.getUrl()) + '/quote';
          const statuses = [(await fetch(url)).status, (await fetch(url)).status];
          await app.close();
          process.stdout.write(JSON.stringify({ absent, statuses }));
        })();
      `;
      const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: bare, encoding: 'utf8' }));
      expect(out).toEqual({
        absent: [
          '@nestjs/microservices',
          '@nestjs/axios',
          '@nestjs/websockets',
          'axios',
          'graphql',
          '@opentelemetry/api',
        ],
        statuses: [500, 503],
      });
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('serves the core as nest-resilience/core without loading any Nest code', () => {
    const script = `
      const { Breaker, CircuitState } = require('nest-resilience/core');
      const breaker = new Breaker('script');
      const nest = Object.keys(require.cache).filter((file) => file.includes('@nestjs'));
      process.stdout.write(JSON.stringify({ state: breaker.state, open: CircuitState.OPEN, nest }));
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { cwd: consumer, encoding: 'utf8' }),
    );
    expect(out).toEqual({ state: 'closed', open: 'open', nest: [] });
  });

  it('type-checks with skipLibCheck off in an app where no optional peer is installed', () => {
    const bare = consumerWithout(OPTIONAL_PEERS);
    try {
      installCopy(bare);
      copyFileSync(join(__dirname, 'fixture', 'bare-consumer.ts'), join(bare, 'consumer.ts'));
      const compilerOptions = {
        module: 'commonjs',
        moduleResolution: 'node10',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        types: ['node'],
      };
      writeFileSync(join(bare, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
      const run = spawnSync(process.execPath, [tsc, '-p', bare], { cwd: bare, encoding: 'utf8' });
      expect(run.stdout + run.stderr).toBe('');
      expect(run.status).toBe(0);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('publishes declarations TypeScript before 5.3 reads: no import() type with import attributes', () => {
    // `import("x", { with: { "resolution-mode": "import" } })` is TypeScript >= 5.3 syntax, a parse
    // error for older compilers, even with skipLibCheck.
    const dist = join(root, 'dist');
    const withAttributes = readdirSync(dist, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.d.ts'))
      .filter((file) => /import\(\s*["'][^"']*["']\s*,/.test(readFileSync(join(dist, file), 'utf8')));
    expect(withAttributes).toEqual([]);
  });

  it.each([
    ['node10', 'commonjs'],
    ['node16', 'node16'],
  ])('type-checks for a consumer using %s module resolution', (moduleResolution, module) => {
    const project = join(consumer, `tsconfig.${moduleResolution}.json`);
    const compilerOptions = {
      module,
      moduleResolution,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      experimentalDecorators: true,
      types: [],
    };
    writeFileSync(project, JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    const run = spawnSync(process.execPath, [tsc, '-p', project], { cwd: consumer, encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
