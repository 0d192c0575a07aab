import { spawn } from 'node:child_process';
import { join } from 'node:path';

const bench = (name: string) => join(__dirname, '..', '..', 'bench', name);

/**
 * Runs a bench script with `args`: a bad option must stop it before it starts anything. It runs in a
 * process group of its own, killed whole if it is still running after 20 s (a bench that took
 * the option would have started its upstream and clients).
 */
function run(
  script: string,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bench(script), ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const guard = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('bench options', () => {
  it.each([['--warmup=five'], ['--rounds=-3'], ['--rewarm='], ['--seconds=Infinity']])(
    'should refuse %s, naming the option, what it was given and what is expected',
    async (arg) => {
      const { code, stderr, stdout } = await run('outgoing-http.js', arg);
      expect(code).not.toBe(0);
      expect(stderr).toContain(`${arg}: expected a number >= 0 (default `);
      expect(stdout).toBe('');
    },
    25_000,
  );

  it.each([
    [
      'outgoing-http.js',
      '--parts=fetch,nope',
      '--parts=fetch,nope: no nope; expected some of fetch, HttpService, origins, in-process',
    ],
    [
      'outgoing-instructions.js',
      '--suites=HttpService,grpc',
      '--suites=HttpService,grpc: no grpc; expected some of fetch, HttpService, fetch in-process, axios in-process',
    ],
    ['outgoing-instructions.js', '--repeats=0', '--repeats=0: expected a number >= 1'],
  ])(
    'should refuse %s %s, naming what it knows',
    async (script, arg, message) => {
      const { code, stderr, stdout } = await run(script, arg);
      expect(code).not.toBe(0);
      expect(stderr).toContain(message);
      expect(stdout).toBe('');
    },
    25_000,
  );
});
