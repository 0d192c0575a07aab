import { escapeUnprintable } from './printable';
import type { CircuitState } from './circuit-state';

export const BREAKER_OPEN = (breaker: string, state: CircuitState): string =>
  state === 'half_open'
    ? `Circuit breaker "${breaker}" is half_open and all its trial calls are taken`
    : `Circuit breaker "${breaker}" is ${state} and does not permit further calls`;

export const BREAKER_TIMEOUT = (breaker: string, ms: number): string =>
  `Circuit breaker "${breaker}": call timed out after ${ms} ms`;

export const LOAD_SHED = (breaker: string, utilization: number, inFlight: number): string =>
  `Circuit breaker "${breaker}" shed the call: the event loop is ${Math.round(utilization * 100)}% busy ` +
  `and ${inFlight === 1 ? '1 call is' : `${inFlight} calls are`} running`;

export const RESET_COOLDOWN = (breaker: string, retryAfterMs: number): string =>
  `Circuit breaker "${breaker}" opened less than its resetCooldown ago; ` +
  `reset again in ${Math.ceil(retryAfterMs / 1000)} s or pass { force: true }`;

export const INVALID_OPTION = (
  scope: string,
  breaker: string | undefined,
  key: string,
  value: unknown,
  expected: string,
): string =>
  `Invalid option ${where(scope, breaker)}: ` + `${key} = ${describe(value)}; expected ${expected}`;

export const INVALID_KEY = (breaker: string, value: unknown, expected: string): string =>
  `Invalid key for circuit breaker "${breaker}": ${describeKey(value)}; expected ${expected}`;

export const INVALID_RATE_LIMIT_KEY = (policy: string, value: unknown, expected: string): string =>
  `Policy "${policy}": invalid rate-limit key: ${describeKey(value)}; expected ${expected}`;

export const TOO_MANY_BREAKERS = (breaker: string, limit: number): string =>
  `Cannot create circuit breaker "${escapeUnprintable(breaker.slice(0, 100))}": the registry already holds ` +
  `maxBreakers (${limit}) named breakers. Breaker names must come from code or configuration, never from ` +
  `request input: use a per-key breaker (a key, bounded by maxKeysPerBreaker) for values from requests, ` +
  `or raise maxBreakers`;

export const TIMEOUT_EXCEEDED = (policy: string, ms: number): string =>
  `Policy "${policy}": the call took longer than its total timeout of ${ms} ms, retries included`;

export const BULKHEAD_FULL = (
  policy: string,
  maxConcurrent: number,
  maxQueue: number,
  queued: boolean,
): string =>
  queued
    ? `Policy "${policy}": the call waited in the bulkhead's queue longer than its queueTimeout`
    : `Policy "${policy}": the bulkhead is full (${maxConcurrent} running, ${maxQueue} queued)`;

export const RATE_LIMITED = (policy: string, retryAfterMs: number): string =>
  `Policy "${policy}": rate limit reached; the next call is allowed in ${Math.ceil(retryAfterMs)} ms`;

function where(scope: string, name: string | undefined): string {
  if (scope === 'breaker') return `for circuit breaker "${name}"`;
  if (scope === 'policy') return `for policy "${name}"`;
  return `in ${scope}`;
}

/** A key as an error message shows it: short, and never a control character. */
function describeKey(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 60 ? `a string of ${value.length} characters` : `"${escapeUnprintable(value)}"`;
  }
  return value === null ? 'null' : `a value of type ${typeof value}`;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
