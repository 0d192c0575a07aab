import type * as OpenTelemetry from '@opentelemetry/api';
import type { Breaker } from '../core/breaker';
import {
  isResilienceError,
  type BreakerOpenError,
  type BreakerTimeoutError,
  type LoadShedError,
} from '../core/errors';
import { requireOptional } from '../core/optional-peer';

/** The span a protected call marks: the one active when the call started. */
export type TracedSpan = OpenTelemetry.Span;

/**
 * `@opentelemetry/api`, loaded on the first protected call once something has registered with
 * it; null when it is not installed.
 */
let api: typeof OpenTelemetry | null | undefined;

/** Where `@opentelemetry/api` 1.x keeps what is registered with it (an SDK's tracer provider, context manager). */
const REGISTERED = Symbol.for('opentelemetry.js.api.1');

/**
 * Marks the active span with the breaker a call goes through and the state that admits it
 * (`circuit_breaker.name`, `circuit_breaker.state`), and returns that span for the call's
 * outcome. Undefined, at the cost of one lookup, when `@opentelemetry/api` is not installed or
 * no span is recording.
 */
export function traceCall(breaker: Breaker): TracedSpan | undefined {
  if (api === undefined) {
    // With nothing registered no span can be active: an app that has the API installed but no
    // SDK (a dependency's dependency) does not load it (~0.4 MB of heap, which its garbage
    // collector would go through on every full collection).
    if ((globalThis as Record<symbol, unknown>)[REGISTERED] === undefined) return undefined;
    api = requireOptional<typeof OpenTelemetry>('@opentelemetry/api') ?? null;
  }
  const span = api?.trace.getActiveSpan();
  if (span === undefined || !span.isRecording()) return undefined;
  span.setAttributes({ 'circuit_breaker.name': breaker.name, 'circuit_breaker.state': breaker.state });
  return span;
}

/**
 * Adds the event a call's error stands for: `circuit_breaker.rejected` (with `retry_after_ms`;
 * the state attribute becomes the state that rejected it) or `circuit_breaker.timeout`.
 */
export function traceError(span: TracedSpan, error: unknown): void {
  if (isResilienceError(error, 'BREAKER_OPEN')) {
    const { breaker, state, retryAfterMs } = error as BreakerOpenError;
    span.setAttribute('circuit_breaker.state', state);
    span.addEvent('circuit_breaker.rejected', {
      'circuit_breaker.name': breaker,
      retry_after_ms: retryAfterMs,
    });
  } else if (isResilienceError(error, 'LOAD_SHED')) {
    const { breaker, retryAfterMs } = error as LoadShedError;
    span.addEvent('circuit_breaker.rejected', {
      'circuit_breaker.name': breaker,
      reason: 'load_shed',
      retry_after_ms: retryAfterMs,
    });
  } else if (isResilienceError(error, 'BREAKER_TIMEOUT')) {
    const { breaker, timeoutMs } = error as BreakerTimeoutError;
    span.addEvent('circuit_breaker.timeout', { 'circuit_breaker.name': breaker, timeout_ms: timeoutMs });
  }
}

/** Adds `circuit_breaker.fallback`: a fallback served `error` (with `retry_after_ms` for a rejection). */
export function traceFallback(span: TracedSpan, breaker: Breaker, error: unknown): void {
  const retryAfterMs =
    isResilienceError(error, 'BREAKER_OPEN') || isResilienceError(error, 'LOAD_SHED')
      ? (error as BreakerOpenError | LoadShedError).retryAfterMs
      : undefined;
  span.addEvent('circuit_breaker.fallback', {
    'circuit_breaker.name': breaker.name,
    ...(retryAfterMs !== undefined && { retry_after_ms: retryAfterMs }),
  });
}
