import { escapeUnprintable, escapeUnprintableJson } from '../core/printable';
import { AdminClient } from './admin-client';
import { apiError, CliError, ExitCode, usageError } from './cli-errors';
import { COMMANDS, type Command } from './commands';
import { parseArgs, type OptionName, type ParsedArgs } from './parse-args';
import { DEFAULT_URL, PROGRAM, usage } from './usage';

/** Options every command accepts. */
const GLOBAL_OPTIONS: readonly OptionName[] = ['url', 'token', 'json', 'help'];

/** Where the CLI reads and writes; `main.ts` passes the process's, tests their own. */
export interface CliIo {
  fetch: typeof fetch;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** How long to wait for the admin API's whole answer. @default 10_000 */
  timeoutMs?: number;
}

/**
 * Runs one CLI invocation and resolves to its exit code (see `ExitCode`). It never exits the
 * process, and rejects only on a bug in the CLI itself.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseArgs(argv);
    if (parsed.flags.help || parsed.command === 'help') {
      io.stdout.write(usage());
      return ExitCode.OK;
    }
    if (parsed.command === undefined) {
      io.stderr.write(usage());
      return ExitCode.USAGE;
    }
    const command = commandFor(parsed);
    const client = new AdminClient({
      url: adminUrl(parsed.values.url ?? io.env.NEST_RESILIENCE_URL ?? DEFAULT_URL),
      token: parsed.values.token ?? io.env.NEST_RESILIENCE_TOKEN,
      fetch: io.fetch,
      timeoutMs: io.timeoutMs,
    });
    const result = await command
      .execute({
        client,
        args: parsed.args,
        values: parsed.values,
        force: parsed.flags.force === true,
        fleet: parsed.flags.fleet === true,
        now: Date.now(),
      })
      .catch((error: unknown) => {
        // JSON of another shape than the admin API's answers (a field missing, a list that is not one).
        if (error instanceof TypeError) {
          throw apiError(
            `${client.base} answered with JSON the admin API does not send (${error.message}); is --url the admin API's path?`,
          );
        }
        throw error;
      });
    io.stdout.write(
      parsed.flags.json ? `${escapeUnprintableJson(JSON.stringify(result.data, null, 2))}\n` : result.text,
    );
    return ExitCode.OK;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    // One line, whatever the server or the command line put in it.
    io.stderr.write(`${PROGRAM}: ${escapeUnprintable(error.message)}\n`);
    if (error.exitCode === ExitCode.USAGE) io.stderr.write(`Run "${PROGRAM} --help" for usage.\n`);
    return error.exitCode;
  }
}

/** The command named on the line, once its arguments and options are checked. */
function commandFor({ command: name = '', args, values, flags }: ParsedArgs): Command {
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    throw usageError(`unknown command "${name}"; expected one of ${Object.keys(COMMANDS).join(', ')}`);
  }
  const [min, max] = command.arity;
  const synopsis = `${name} ${command.synopsis}`;
  if (args.length < min) throw usageError(`${name} needs ${command.needs ?? 'a breaker name'}: ${synopsis}`);
  if (args.length > max) throw usageError(`${name} takes at most ${max} argument(s): ${synopsis}`);
  const given = [...Object.keys(values), ...Object.keys(flags)] as OptionName[];
  const stray = given.find((option) => !GLOBAL_OPTIONS.includes(option) && !command.options.includes(option));
  if (stray !== undefined) throw usageError(`${name} does not take --${stray}: ${synopsis}`);
  return command;
}

function adminUrl(url: string): string {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw usageError(`--url must be an http(s) URL such as ${DEFAULT_URL}; got "${url}"`);
  }
  return url;
}
