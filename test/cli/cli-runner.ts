import { run } from '../../src/cli/run';

/** What a CLI run printed and how it exited. */
export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as `npx nest-resilience ...argv` would, with the given environment. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    fetch,
    env,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}
