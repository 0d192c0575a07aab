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
  // Known before the line is parsed: with --json, even a usage error prints JSON.
  const json = asksForJson(argv);
  try {
    const parsed = parseArgs(argv);
    if (parsed.flags.help || parsed.command === 'help') {
      io.stdout.write(usage());
      return ExitCode.OK;
    }
    if (parsed.command === undefined) {
      io.stderr.write(usage());
      if (json) writeJsonError(io, usageError(`no command given; expected one of ${commandNames()}`));
      return ExitCode.USAGE;
    }
    const command = commandFor(parsed);
    const client = new AdminClient({
      url: adminUrl(parsed.values, io.env),
      token: adminToken(parsed.values, io.env),
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
        // JSON of another shape than the admin API's answers (a field missing, a list that is not
        // one, a time no Date can hold).
        if (error instanceof TypeError || error instanceof RangeError) {
          throw apiError(
            `${client.base} answered with JSON the admin API does not send (${error.message}); is --url the admin API's path?`,
          );
        }
        throw error;
      });
    io.stdout.write(json ? printableJson(result.data) : result.text);
    return ExitCode.OK;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    // One line, whatever the server or the command line put in it.
    io.stderr.write(`${PROGRAM}: ${escapeUnprintable(error.message)}\n`);
    if (error.exitCode === ExitCode.USAGE) io.stderr.write(`Run "${PROGRAM} --help" for usage.\n`);
    if (json) writeJsonError(io, error);
    return error.exitCode;
  }
}

/** Whether `--json` is among the options (before a `--`, after which everything is an argument). */
function asksForJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function printableJson(data: unknown): string {
  return `${escapeUnprintableJson(JSON.stringify(data, null, 2))}\n`;
}

/**
 * With `--json`, stdout stays JSON when the command fails: `{ "error": { message, exitCode,
 * status?, code?, breaker?, id?, policy?, retryAfterMs?, outcome? } }` (the HTTP status and the
 * API's fields when it answered). The one line on stderr is printed too.
 */
function writeJsonError(io: CliIo, error: CliError): void {
  io.stdout.write(
    printableJson({ error: { message: error.message, exitCode: error.exitCode, ...error.details } }),
  );
}

const commandNames = (): string => Object.keys(COMMANDS).join(', ');

/** The command named on the line, once its arguments and options are checked. */
function commandFor({ command: name = '', args, values, flags }: ParsedArgs): Command {
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    throw usageError(`unknown command "${name}"; expected one of ${commandNames()}`);
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

/** Where a setting came from, as an error names it. */
type Source = { value: string; from: string };

/**
 * A setting from its option, else from its environment variable; undefined when neither is set.
 * An empty variable counts as unset: a CI secret that is not defined expands to '' (an empty
 * option is the user's own doing, and is refused where it is checked).
 */
function given(
  flag: string | undefined,
  option: string,
  variable: string,
  env: CliIo['env'],
): Source | undefined {
  if (flag !== undefined) return { value: flag, from: option };
  const value = env[variable];
  return value === undefined || value === '' ? undefined : { value, from: variable };
}

/**
 * The admin API's base URL, from `--url`, else `NEST_RESILIENCE_URL`, else the default, trimmed. Refused,
 * naming where it came from: anything but http(s), a user or password (fetch cannot send them),
 * a query or fragment (the CLI appends paths to it, which would land inside them).
 */
function adminUrl(values: ParsedArgs['values'], env: CliIo['env']): string {
  const { value, from } = given(values.url, '--url', 'NEST_RESILIENCE_URL', env) ?? {
    value: DEFAULT_URL,
    from: 'the default URL',
  };
  // White space around it (a file's line ending, a space in a .env) would end up inside the path.
  const url = value.trim();
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const expected = `expected the admin API's base URL, such as ${DEFAULT_URL}`;
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw usageError(`${from} must be an http(s) URL; got "${url}"; ${expected}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw usageError(
      `${from} holds a user name or password, which the CLI does not send; ${expected}, and the token in NEST_RESILIENCE_TOKEN`,
    );
  }
  if (/[?#]/.test(url)) {
    throw usageError(
      `${from} has a query or fragment ("${url}"), where the CLI would append its paths; ${expected}`,
    );
  }
  return url;
}

/** A character no token can hold: white space and controls, and beyond Latin-1 (an HTTP header cannot carry it). */
// eslint-disable-next-line no-control-regex -- it looks for control characters
const NOT_IN_TOKEN = /[\u0000-\u0020\u007f-\u00a0\u0100-\uffff]/;

/**
 * The bearer token, from `--token`, else `NEST_RESILIENCE_TOKEN`, trimmed (a file read with its
 * line ending). Refused, naming where it came from, when empty (an empty variable is unset), or when it holds what no token
 * sent as `Authorization: Bearer <token>` can: a space (`Bearer ` pasted in), a line break, a
 * character an HTTP header cannot carry. Unset: none is sent.
 */
function adminToken(values: ParsedArgs['values'], env: CliIo['env']): string | undefined {
  const source = given(values.token, '--token', 'NEST_RESILIENCE_TOKEN', env);
  if (source === undefined) return undefined;
  const token = source.value.trim();
  const expected = "expected the admin token alone, as the app's admin.token has it";
  if (token === '') {
    throw usageError(`${source.from} is empty; ${expected} (or unset it if the admin API takes no token)`);
  }
  const at = token.search(NOT_IN_TOKEN);
  if (at !== -1) {
    const what = /\s/.test(token[at]) ? 'white space' : 'a character an HTTP header cannot carry';
    const bearer = /^bearer\s/i.test(token) ? ', without "Bearer "' : '';
    throw usageError(`${source.from} holds ${what} at position ${at + 1}; ${expected}${bearer}`);
  }
  return token;
}
