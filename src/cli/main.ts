#!/usr/bin/env node
import { run } from './run';

// Only the process wiring lives here, so that run() stays testable.
void run(process.argv.slice(2), {
  fetch,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
