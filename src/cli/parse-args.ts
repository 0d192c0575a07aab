import { usageError } from './cli-errors';

/** Options that take a value (`--reason text` or `--reason=text`). */
const VALUE_OPTIONS = ['url', 'token', 'reason', 'limit', 'policy'] as const;
/** Options that are on when present. */
const FLAG_OPTIONS = ['force', 'fleet', 'json', 'help'] as const;

export type ValueOption = (typeof VALUE_OPTIONS)[number];
export type FlagOption = (typeof FLAG_OPTIONS)[number];
export type OptionName = ValueOption | FlagOption;

export interface ParsedArgs {
  command: string | undefined;
  /** Arguments after the command. */
  args: string[];
  values: Partial<Record<ValueOption, string>>;
  flags: Partial<Record<FlagOption, true>>;
}

const isValueOption = (name: string): name is ValueOption =>
  (VALUE_OPTIONS as readonly string[]).includes(name);
const isFlagOption = (name: string): name is FlagOption => (FLAG_OPTIONS as readonly string[]).includes(name);

/**
 * Splits the command line into a command, its arguments and options, by hand (no
 * dependency). Options may come anywhere; `--` ends them. Throws a usage error naming the
 * option at fault.
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const parsed: ParsedArgs = { command: undefined, args: [], values: {}, flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      parsed.flags.help = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const [name, inline] = arg.startsWith('--') ? splitOption(arg.slice(2)) : [arg, undefined];
    if (isFlagOption(name)) {
      if (inline !== undefined) throw usageError(`--${name} takes no value`);
      parsed.flags[name] = true;
    } else if (isValueOption(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('--'))) {
        throw usageError(`--${name} needs a value`);
      }
      parsed.values[name] = value;
    } else {
      const known = [...VALUE_OPTIONS, ...FLAG_OPTIONS].map((option) => `--${option}`).join(', ');
      throw usageError(`unknown option ${arg.split('=')[0]}; expected one of ${known}, -h`);
    }
  }
  [parsed.command, ...parsed.args] = positionals;
  return parsed;
}

/** `name=value` -> [name, value]; `name` -> [name, undefined]. */
function splitOption(option: string): [string, string | undefined] {
  const eq = option.indexOf('=');
  return eq === -1 ? [option, undefined] : [option.slice(0, eq), option.slice(eq + 1)];
}
