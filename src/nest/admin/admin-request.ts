import { BadRequestException } from '@nestjs/common';
import { INVALID_FIELD, UNKNOWN_FIELDS, UNKNOWN_QUERY_PARAMETERS } from './admin.messages';

/** Most entries (audit, dead letters) one request may ask for. */
const MAX_AUDIT_LIMIT = 1000;

/**
 * The JSON body as an object. A missing body counts as `{}`; unknown fields are refused so
 * that a typo such as `"forced": true` is not silently ignored.
 */
export function readBody(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('body', 'a JSON object');
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw new BadRequestException(UNKNOWN_FIELDS(unknown, allowed));
  return body as Record<string, unknown>;
}

/**
 * The query string's parameters; any but `allowed` is refused, as a body's unknown fields are: a
 * typo such as `DELETE dead-letters?polcy=emails` would otherwise drop the filter and purge the
 * letters of every policy, and `GET audit?braker=x` answer every breaker's entries.
 */
export function readQuery(query: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof query !== 'object' || query === null) return {};
  const unknown = Object.keys(query).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw new BadRequestException(UNKNOWN_QUERY_PARAMETERS(unknown, allowed));
  return query as Record<string, unknown>;
}

/**
 * The longest `reason` kept (characters, once trimmed): every audit entry is kept (10,000 in
 * Redis or SQLite) and printed whole by the CLI, so a log pasted as a reason is refused.
 */
export const MAX_REASON_LENGTH = 1_000;

/** `reason`, trimmed; required for actions whose audit entry would be useless without it. */
export function readReason(body: Record<string, unknown>, required: true): string;
export function readReason(body: Record<string, unknown>, required: false): string | undefined;
export function readReason(body: Record<string, unknown>, required: boolean): string | undefined {
  const { reason } = body;
  if (reason === undefined && !required) return undefined;
  const trimmed = typeof reason === 'string' ? reason.trim() : '';
  if (trimmed === '' || trimmed.length > MAX_REASON_LENGTH) {
    throw badRequest(
      'reason',
      `a non-empty string of at most ${MAX_REASON_LENGTH} characters saying why (it goes to the audit log)` +
        (trimmed.length > MAX_REASON_LENGTH ? `, not ${trimmed.length}` : ''),
    );
  }
  return trimmed;
}

/** An optional boolean field, `false` when absent. */
export function readFlag(body: Record<string, unknown>, field: string): boolean {
  const value = body[field];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw badRequest(field, 'true or false');
  return value;
}

/** A query parameter that filters by one name (`breaker`, `policy`): undefined for all. */
export function readNameFilter(field: 'breaker' | 'policy', value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw badRequest(field, `one ${field} name`);
  return value;
}

/** The `limit` query parameter: undefined leaves the list's default. */
export function readLimit(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const limit = typeof value === 'string' && /^[1-9]\d*$/.test(value) ? Number(value) : NaN;
  if (!(limit <= MAX_AUDIT_LIMIT)) throw badRequest('limit', `a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
  return limit;
}

function badRequest(field: string, expected: string): BadRequestException {
  return new BadRequestException(INVALID_FIELD(field, expected));
}
