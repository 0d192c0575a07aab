import type { AuditEntry } from '../core/audit-log';
import type { FleetView } from '../stores/breaker-store';
import type { BreakerSnapshot } from '../core/breaker-snapshot';
import type { DeadLetter } from '../core/dead-letter-store';
import { escapeUnprintable } from '../core/printable';

interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Numbers read best right-aligned. */
  right?: boolean;
}

/**
 * Rows as aligned text columns under their headers, two spaces apart. Every cell is escaped:
 * names, reasons and actors come from requests and operators, and a control character in one
 * could clear the terminal or forge a row.
 */
function table<T>(columns: Array<Column<T>>, rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((column) => escapeUnprintable(String(column.value(row)))));
  // A loop, not Math.max(...cells): spreading 120,000 rows (a large fleet) overflows the stack.
  const widths = columns.map((column) => column.header.length);
  for (const line of cells)
    for (let i = 0; i < line.length; i++) widths[i] = Math.max(widths[i], line[i].length);
  const line = (values: string[]): string =>
    values
      .map((value, i) => (columns[i].right ? value.padStart(widths[i]) : value.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join('\n') + '\n';
}

/** `0.125` -> `12.5%`. */
function percent(rate: number): string {
  return `${Number((rate * 100).toFixed(1))}%`;
}

/** Weighted counts may be fractional (a timeout weighs 0.5): at most two decimals. */
function count(value: number): string {
  return String(Number(value.toFixed(2)));
}

/** `95_000` -> `1m 35s`; whole seconds, rounded up, so "in 0s" never shows for a future time. */
function duration(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

function nextAttempt(at: number | null, now: number): string {
  if (at === null) return '-';
  return at <= now ? 'due now' : `in ${duration(at - now)}`;
}

function timestamp(at: number): string {
  return new Date(at).toISOString();
}

/** The `status` table: one line per breaker. */
export function formatStatus(snapshots: readonly BreakerSnapshot[], now: number): string {
  if (snapshots.length === 0) return 'No circuit breakers registered.\n';
  return table<BreakerSnapshot>(
    [
      { header: 'NAME', value: (b) => b.name },
      { header: 'STATE', value: (b) => b.state },
      { header: 'FAILURE RATE', value: (b) => percent(b.failureRate), right: true },
      { header: 'FAILURES', value: (b) => count(b.failures), right: true },
      { header: 'SUCCESSES', value: (b) => String(b.successes), right: true },
      { header: 'REJECTED', value: (b) => String(b.rejected), right: true },
      { header: 'TRIPS', value: (b) => String(b.tripCount), right: true },
      { header: 'NEXT ATTEMPT', value: (b) => nextAttempt(b.nextAttemptAt, now) },
    ],
    snapshots,
  );
}

/** `status --fleet`: one row per breaker and live instance. */
export function formatFleet(view: FleetView, now: number): string {
  const rows = view.instances.flatMap(({ instance, breakers }) => breakers.map((b) => ({ instance, ...b })));
  if (rows.length === 0) return 'No live instance reports any circuit breaker.\n';
  return table<(typeof rows)[number]>(
    [
      { header: 'NAME', value: (b) => b.name },
      { header: 'INSTANCE', value: (b) => b.instance },
      { header: 'STATE', value: (b) => b.state },
      { header: 'FAILURE RATE', value: (b) => percent(b.failureRate), right: true },
      { header: 'REJECTED', value: (b) => String(b.rejected), right: true },
      { header: 'NEXT ATTEMPT', value: (b) => nextAttempt(b.nextAttemptAt, now) },
    ],
    rows.sort((a, b) => a.name.localeCompare(b.name) || a.instance.localeCompare(b.instance)),
  );
}

/** `status <name>`: one breaker, field by field. */
export function formatDetail(b: BreakerSnapshot, now: number): string {
  const fields: Array<[string, string]> = [
    ['state', b.state],
    ['failure rate', `${percent(b.failureRate)} (${count(b.failures)} of ${b.calls} calls in the window)`],
    ['failures', count(b.failures)],
    ['successes', String(b.successes)],
    ['slow calls', `${b.slowCalls} (${percent(b.slowCallRate)})`],
    ['rejected', String(b.rejected)],
    ['trips', String(b.tripCount)],
    ['in flight', String(b.inFlight)],
    ['opened at', b.openedAt === null ? '-' : `${timestamp(b.openedAt)} (${duration(now - b.openedAt)} ago)`],
    [
      'next attempt',
      b.nextAttemptAt === null ? '-' : `${timestamp(b.nextAttemptAt)} (${nextAttempt(b.nextAttemptAt, now)})`,
    ],
    ['open duration', duration(b.openDuration)],
    ['critical', b.critical ? 'yes' : 'no'],
  ];
  const width = Math.max(...fields.map(([label]) => label.length));
  const lines = fields.map(([label, value]) => `  ${label.padEnd(width)}  ${escapeUnprintable(value)}`);
  return `${escapeUnprintable(b.name)}\n${lines.join('\n')}\n`;
}

/** `audit`: newest first, as the API returns them. */
export function formatAudit(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return 'No audit entries.\n';
  return table<AuditEntry>(
    [
      { header: 'TIME', value: (e) => timestamp(e.at) },
      { header: 'BREAKER', value: (e) => e.breaker },
      { header: 'ACTION', value: (e) => e.action },
      { header: 'CHANGE', value: (e) => (e.from === e.to ? e.to : `${e.from} -> ${e.to}`) },
      { header: 'ACTOR', value: (e) => e.actor ?? '-' },
      { header: 'REASON', value: (e) => e.reason },
    ],
    entries,
  );
}

/** Longest arguments shown in the `dead-letters list` table; `--json` shows them whole. */
const ARGS_SHOWN = 60;

/** `dead-letters list`: newest first, as the API returns them. */
export function formatDeadLetters(letters: readonly DeadLetter[]): string {
  if (letters.length === 0) return 'No dead letters.\n';
  return table<DeadLetter>(
    [
      { header: 'ID', value: (l) => l.id, right: true },
      { header: 'TIME', value: (l) => timestamp(l.at) },
      { header: 'POLICY', value: (l) => l.policy },
      { header: 'ATTEMPTS', value: (l) => String(l.attempts), right: true },
      { header: 'ERROR', value: (l) => `${l.error.code ?? l.error.name}: ${l.error.message}` },
      { header: 'ARGS', value: (l) => shorten(JSON.stringify(l.args)) },
    ],
    letters,
  );
}

function shorten(text: string): string {
  return text.length <= ARGS_SHOWN ? text : `${text.slice(0, ARGS_SHOWN - 1)}…`;
}
