#!/usr/bin/env node
'use strict';
/**
 * Adds to package-lock.json the platform builds of optional dependencies (@swc/core-darwin-arm64,
 * …) that the registry this project installs from does not serve (it serves Linux builds only).
 * npm leaves them out of the lock when it cannot fetch them, and `npm ci` then refuses the lock
 * ("Missing: … from lock file"). The entries carry the platform the package name says, so
 * `npm ci` skips them on this machine without fetching anything. Run it after `npm install`
 * changes the lock; it changes nothing when nothing is missing.
 */
const fs = require('node:fs');
const path = require('node:path');

const OS = [
  'darwin',
  'win32',
  'linux',
  'android',
  'freebsd',
  'openharmony',
  'netbsd',
  'openbsd',
  'sunos',
  'aix',
];
const CPU = ['arm64', 'x64', 'arm', 'ppc64', 's390x', 'ia32', 'loong64', 'riscv64', 'wasm32'];

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;
const added = [];

for (const [where, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || packages[`${where}/${key}`]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.find((p) => CPU.includes(p));
    if (!os || !cpu) {
      console.error(
        `complete-lockfile: cannot tell the platform of "${name}" (optional dependency of ${where}); add its entry by hand`,
      );
      process.exit(1);
    }
    const libc =
      os === 'linux'
        ? parts.some((p) => p.startsWith('musl'))
          ? 'musl'
          : parts.some((p) => p.startsWith('gnu'))
            ? 'glibc'
            : undefined
        : undefined;
    // The key order npm itself writes, so a later `npm install` leaves the entry as it is.
    packages[key] = {
      version,
      cpu: [cpu],
      dev: entry.dev,
      ...(libc && { libc: [libc] }),
      optional: true,
      os: [os],
    };
    added.push(`${name}@${version}`);
  }
}

if (added.length > 0) {
  lock.packages = Object.fromEntries(
    Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'))),
  );
  fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
console.log(
  added.length > 0 ? `complete-lockfile: added ${added.join(', ')}` : 'complete-lockfile: nothing missing',
);
