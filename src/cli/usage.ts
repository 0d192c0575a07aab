import { COMMANDS } from './commands';

export const PROGRAM = 'nest-resilience';
export const DEFAULT_URL = 'http://127.0.0.1:3000/resilience';

/** The `--help` text, its command list built from {@link COMMANDS}. */
export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => [
    `${name} ${command.synopsis}`,
    command.summary,
  ]);
  const width = Math.max(...lines.map(([synopsis]) => synopsis.length));
  const commands = lines.map(([synopsis, summary]) => `  ${synopsis.padEnd(width)}  ${summary}`).join('\n');
  return `Usage: ${PROGRAM} <command> [options]

Inspect and control the circuit breakers of a running Nest app through its admin API
(ResilienceModule.forRoot({ ..., admin: { path, guard | token } })).

Commands:
${commands}

Options:
  --url <url>      Base URL of the admin API (env NEST_RESILIENCE_URL)
                   default: ${DEFAULT_URL}
  --token <token>  Bearer token for the admin API (env NEST_RESILIENCE_TOKEN; prefer the
                   variable: a flag shows up in the process list)
  --json           Print the API's JSON instead of a table
  -h, --help       Show this help

Exit codes: 0 done, 1 the API refused or failed, 2 wrong usage, 3 cannot reach the API.

Examples:
  ${PROGRAM} status
  ${PROGRAM} trip payments --reason "provider incident #4711"
  ${PROGRAM} reset payments --force --reason "provider fixed"
  ${PROGRAM} audit payments --limit 20 --json
  ${PROGRAM} dead-letters list --policy payments
  ${PROGRAM} dead-letters replay 42
`;
}
