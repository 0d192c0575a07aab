'use strict';

/**
 * HTTP throughput of a tiny Nest app (Express) with and without `@CircuitBreaker`:
 * `node bench/http.js [--rounds=11] [--requests=2000] [--connections=16]`.
 *
 * This process serves two apps on 127.0.0.1, built from the published entry point (`dist/`):
 * one with metrics off, one with the module's defaults (Prometheus series for every call,
 * as a user gets once prom-client is installed). The load comes from a child process
 * (bench/http-load.js) so client and server each get a core; it prints JSON on stdout.
 */

require('reflect-metadata');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { numberArg } = require('./args');

const SETTINGS = {
  rounds: numberArg('rounds', 11),
  requests: numberArg('requests', 2_000),
  connections: numberArg('connections', 16),
};

/** Applies decorators the way TypeScript does for `@Dec() method() {}` (bottom one first). */
function decorateMethod(proto, key, decorators) {
  let descriptor = Object.getOwnPropertyDescriptor(proto, key);
  for (const decorate of [...decorators].reverse())
    descriptor = decorate(proto, key, descriptor) ?? descriptor;
  Object.defineProperty(proto, key, descriptor);
}

/** The app: `GET /plain` and `GET /protected` do the same (trivial, async) work. */
function buildAppModule(lib, common, metrics) {
  const { Controller, Get, Module } = common;
  class BenchController {
    async plain() {
      return { ok: true };
    }
    async protected() {
      return { ok: true };
    }
  }
  decorateMethod(BenchController.prototype, 'plain', [Get('plain')]);
  decorateMethod(BenchController.prototype, 'protected', [lib.CircuitBreaker('bench'), Get('protected')]);
  Controller()(BenchController);

  class AppModule {}
  Module({
    imports: [lib.ResilienceModule.forRoot(metrics ? {} : { metrics: false })],
    controllers: [BenchController],
  })(AppModule);
  return AppModule;
}

async function startApp(lib, metrics) {
  const common = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const app = await NestFactory.create(buildAppModule(lib, common, metrics), { logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

function runLoad(targets) {
  return new Promise((resolve, reject) => {
    const load = spawn(
      process.execPath,
      [path.join(__dirname, 'http-load.js'), JSON.stringify({ ...SETTINGS, targets })],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    load.stdout.on('data', (chunk) => (out += chunk));
    load.on('error', reject);
    load.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`http-load exited with ${code}`)),
    );
  });
}

async function main() {
  const lib = require('..');
  if (typeof lib.ResilienceModule !== 'function' || typeof lib.CircuitBreaker !== 'function') {
    process.stdout.write(
      JSON.stringify({ skipped: 'dist/index.js does not export ResilienceModule and CircuitBreaker' }),
    );
    return;
  }
  process.stderr.write('http: starting apps ... ');
  const t0 = Date.now();
  const quiet = await startApp(lib, false);
  const metered = await startApp(lib, true);
  const url = async (app, route) => `${await app.getUrl()}/${route}`.replace('[::1]', '127.0.0.1');
  const targets = {
    plain: await url(quiet, 'plain'),
    '@CircuitBreaker': await url(quiet, 'protected'),
    '@CircuitBreaker + metrics': await url(metered, 'protected'),
  };
  try {
    const results = await runLoad(targets);
    process.stdout.write(JSON.stringify({ ...SETTINGS, results }));
  } finally {
    await Promise.all([quiet.close(), metered.close()]);
    process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
