// Installs the oldest peer stack (compat/nest11) the Jest project `nest11` tests against, so that
// `npm install && npm test` works on a fresh clone. Reinstalls when its lockfile changed.
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const folder = join(__dirname, '..', 'compat', 'nest11');
const stamp = join(folder, 'node_modules', '.lock-hash');
const hash = createHash('sha256')
  .update(readFileSync(join(folder, 'package-lock.json')))
  .digest('hex');

if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== hash) {
  console.log('Installing the Nest 11 test stack in compat/nest11 (npm ci)...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: folder, stdio: 'inherit' });
  writeFileSync(stamp, hash);
}
