import type { AuditEntry } from '../core/audit-log';
import type { BreakerSnapshot } from '../core/breaker-snapshot';
import type { DeadLetter } from '../core/dead-letter-store';
import { escapeUnprintable } from '../core/printable';
import type { FleetView } from '../stores/breaker-store';
import type { AdminClient } from './admin-client';
import { usageError } from './cli-errors';
import { formatAudit, formatDeadLetters, formatDetail, formatFleet, formatStatus } from './format';
import type { OptionName, ParsedArgs } from './parse-args';

export interface CommandContext {
  client: AdminClient;
  args: string[];
  values: ParsedArgs['values'];
  force: boolean;
  /** `status --fleet`: every instance sharing the store. */
  fleet: boolean;
  now: number;
}

/** What a command got from the API, and how it reads for a person. */
export interface CommandResult {
  data: unknown;
  text: string;
}

export interface Command {
  /** Arguments and command options as the help shows them. */
  synopsis: string;
  summary: string;
  /** Positional arguments: at least, at most. */
  arity: [number, number];
  /** What the first positional argument is, for the error when it is missing. @default 'a breaker name' */
  needs?: string;
  /** Options this command accepts besides the global ones. */
  options: readonly OptionName[];
  execute(context: CommandContext): Promise<CommandResult>;
}

/**
 * A breaker name or dead letter id as one segment of the admin API's path, URL-encoded. An empty
 * one would drop the segment (`breakers//trip`), and `.` or `..` cannot be sent at all: a URL
 * reads them, even encoded as `%2E`, as a step in its path, so they would reach another route.
 */
function segment(value: string, what: string): string {
  if (value === '') throw usageError(`the ${what} is empty; expected ${article(what)} ${what}`);
  if (value === '.' || value === '..') {
    throw usageError(
      `the ${what} "${value}" cannot be sent to the admin API: a URL reads it as a step in its path ` +
        '(even written %2E), so the request would reach another route' +
        (what === 'breaker name' ? '; give the breaker another name' : ''),
    );
  }
  return encodeURIComponent(value);
}

const article = (what: string): string => (/^[aeiou]/.test(what) ? 'an' : 'a');

/** A name given to filter a list (`audit <name>`, `--policy`): it may not be empty, which would mean "all". */
function filterName(value: string | undefined, what: string): string | undefined {
  if (value === '')
    throw usageError(`the ${what} is empty; expected ${article(what)} ${what}, or none for all`);
  return value;
}

const breakerPath = (name: string, action = ''): string =>
  `/breakers/${segment(name, 'breaker name')}${action === '' ? '' : `/${action}`}`;

/** `--reason`, which trip and disable require: an audit entry without one tells nobody anything. */
function requiredReason({ reason }: ParsedArgs['values']): string {
  if (reason === undefined || reason.trim() === '') {
    throw usageError('--reason <text> is required: say why; it goes to the audit log');
  }
  return reason;
}

async function control(
  context: CommandContext,
  action: string,
  body: Record<string, unknown>,
  done: string,
): Promise<CommandResult> {
  const [name] = context.args;
  const snapshot = await context.client.post<BreakerSnapshot>(breakerPath(name, action), body);
  const text = `Breaker "${escapeUnprintable(snapshot.name)}" ${done}: now ${escapeUnprintable(snapshot.state)}.\n`;
  return { data: snapshot, text };
}

const DEAD_LETTER_SUBCOMMANDS = 'list, replay <id> or purge';

/** `dead-letters list | replay <id> | purge`: one command, its subcommand the first argument. */
async function deadLetters({ client, args: [sub, id], values }: CommandContext): Promise<CommandResult> {
  const policyName = filterName(values.policy, 'policy name');
  const policy = policyName === undefined ? '' : `policy=${encodeURIComponent(policyName)}`;
  if (sub === 'replay') {
    if (id === undefined || values.policy !== undefined || values.limit !== undefined) {
      throw usageError('dead-letters replay takes one dead letter id, and no --policy or --limit');
    }
    // A failed replay answers 502 with its error, one its policy refused before it ran 503 saying
    // "not run" and when to replay it again (outcome 'not_run', retryAfterMs): both exit code 1.
    const done = await client.post<{ id: string; policy: string }>(
      `/dead-letters/${segment(id, 'dead letter id')}/replay`,
      {},
    );
    const text = `Dead letter "${escapeUnprintable(done.id)}" replayed through policy "${escapeUnprintable(done.policy)}": succeeded, removed.\n`;
    return { data: done, text };
  }
  if (id !== undefined) throw usageError(`dead-letters ${sub} takes no id`);
  if (sub === 'list') {
    const limit = values.limit === undefined ? '' : `limit=${encodeURIComponent(values.limit)}`;
    const search = [policy, limit].filter((p) => p !== '').join('&');
    const letters = await client.get<DeadLetter[]>(
      search === '' ? '/dead-letters' : `/dead-letters?${search}`,
    );
    return { data: letters, text: formatDeadLetters(letters) };
  }
  if (sub === 'purge') {
    if (values.limit !== undefined) throw usageError('dead-letters purge does not take --limit');
    const done = await client.delete<{ purged: number }>(
      policy === '' ? '/dead-letters' : `/dead-letters?${policy}`,
    );
    return { data: done, text: `Purged ${done.purged} dead letter(s).\n` };
  }
  throw usageError(`unknown dead-letters subcommand "${sub}"; expected ${DEAD_LETTER_SUBCOMMANDS}`);
}

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Record<string, Command> = {
  status: {
    synopsis: '[<name>] [--fleet]',
    summary: 'List every breaker, or show one in detail; --fleet: on every instance (redis store)',
    arity: [0, 1],
    options: ['fleet'],
    async execute({ client, args: [name], fleet, now }) {
      if (fleet) {
        if (name !== undefined) throw usageError('status --fleet lists every breaker: give no name');
        const view = await client.get<FleetView>('/breakers?scope=fleet');
        return { data: view, text: formatFleet(view, now) };
      }
      if (name === undefined) {
        const snapshots = await client.get<BreakerSnapshot[]>('/breakers');
        return { data: snapshots, text: formatStatus(snapshots, now) };
      }
      const snapshot = await client.get<BreakerSnapshot>(breakerPath(name));
      return { data: snapshot, text: formatDetail(snapshot, now) };
    },
  },
  trip: {
    synopsis: '<name> --reason <text>',
    summary: 'Force a breaker open: calls fail fast until it is reset',
    arity: [1, 1],
    options: ['reason'],
    execute(context) {
      return control(context, 'trip', { reason: requiredReason(context.values) }, 'tripped');
    },
  },
  reset: {
    synopsis: '<name> [--reason <text>] [--force]',
    summary: 'Close a breaker; --force skips its reset cooldown',
    arity: [1, 1],
    options: ['reason', 'force'],
    execute(context) {
      const { reason } = context.values;
      return control(context, 'reset', { reason, ...(context.force && { force: true }) }, 'reset');
    },
  },
  disable: {
    synopsis: '<name> --reason <text>',
    summary: 'Switch a breaker off: calls pass straight through',
    arity: [1, 1],
    options: ['reason'],
    execute(context) {
      return control(context, 'disable', { reason: requiredReason(context.values) }, 'disabled');
    },
  },
  audit: {
    synopsis: '[<name>] [--limit <n>]',
    summary: 'Show manual actions and state changes, newest first',
    arity: [0, 1],
    options: ['limit'],
    async execute({ client, args: [name], values }) {
      const query = new URLSearchParams();
      const breaker = filterName(name, 'breaker name');
      if (breaker !== undefined) query.set('breaker', breaker);
      if (values.limit !== undefined) query.set('limit', values.limit);
      const search = query.toString();
      const entries = await client.get<AuditEntry[]>(search === '' ? '/audit' : `/audit?${search}`);
      return { data: entries, text: formatAudit(entries) };
    },
  },
  'dead-letters': {
    synopsis: 'list [--policy <name>] [--limit <n>] | replay <id> | purge [--policy <name>]',
    summary: 'List the calls policies gave up on, replay one through its policy, or purge them',
    arity: [1, 2],
    needs: `a subcommand: ${DEAD_LETTER_SUBCOMMANDS}`,
    options: ['policy', 'limit'],
    execute: deadLetters,
  },
};
