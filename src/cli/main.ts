#!/usr/bin/env node
import { run } from './run';

// Only the process wiring lives here, so that run() stays testable.

// `nest-resilience audit --limit 1000 | head`: the reader is gone, so the rest has no one to go to.
// Without this handler the pipe's error is thrown, with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});
void run(process.argv.slice(2), {
  fetch,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
