import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const REGISTER = join(__dirname, 'swc-register.js');

/**
 * Runs a TypeScript file from the sources in a fresh process of this runtime (no build needed):
 * Node compiles it through @swc/core, Bun runs TypeScript itself.
 */
export function spawnTs(script: string, args: string[] = []): ChildProcess {
  const loader = process.versions.bun === undefined ? ['--require', REGISTER] : [];
  return spawn(process.execPath, [...loader, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Collects the child's stdout lines until `count` arrived; rejects when it exits first
 * (with what it wrote on stderr).
 */
export function readLines(child: ChildProcess, count: number): Promise<string[]> {
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      lines.push(line);
      if (lines.length === count) {
        rl.close();
        resolve(lines);
      }
    });
    child.once('exit', (code, signal) => {
      reject(new Error(`child exited (${code ?? signal}) after ${lines.length} lines: ${stderr}`));
    });
  });
}

/** Kills the child with SIGKILL (as `kill -9` does) and waits until it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
