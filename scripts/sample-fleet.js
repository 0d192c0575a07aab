'use strict';

/**
 * `npm run sample:fleet`: three instances of the sample app on ports 3001, 3002 and 3003,
 * sharing their breakers through the local Redis (REDIS_URL, default redis://127.0.0.1:6379;
 * `scripts/ensure-services.sh` starts one). Their logs are prefixed with the port; Ctrl-C stops
 * all three. The walkthrough is in sample-app/README.md ("A fleet of three").
 */

const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const PORTS = [3001, 3002, 3003];
const main = path.join(__dirname, '..', 'sample-app', 'dist', 'main.js');

const children = PORTS.map((port) => {
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      PORT: String(port),
      BREAKER_STORE: 'redis',
      INSTANCE_ID: `sample-${port}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => console.log(`[${port}] ${line}`));
  }
  child.on('exit', (code, signal) => {
    console.log(`[${port}] exited (${code ?? signal})`);
    stop();
  });
  return child;
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);
