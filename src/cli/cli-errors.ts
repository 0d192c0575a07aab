/** The exit codes of the CLI, part of its contract with scripts. */
export const ExitCode = {
  OK: 0,
  /** The admin API answered with an error. */
  API_ERROR: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** The admin API could not be reached. */
  CONNECTION: 3,
} as const;

/** An error the CLI reports as one line and turns into an exit code. */
export class CliError extends Error {
  /** What `--json` prints besides the message: the HTTP status and the API's code, breaker, id. */
  details: Record<string, unknown> = {};

  constructor(
    message: string,
    readonly exitCode: (typeof ExitCode)[keyof typeof ExitCode],
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(message, ExitCode.USAGE);
export const apiError = (message: string): CliError => new CliError(message, ExitCode.API_ERROR);
export const connectionError = (message: string): CliError => new CliError(message, ExitCode.CONNECTION);
