import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

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
