/**
 * The states a circuit breaker can be in. The values are the snake_case strings used in
 * metric labels, health details and the admin API.
 * @publicApi
 */
export const CircuitState = {
  /** Calls pass and their outcomes are recorded in the window. */
  CLOSED: 'closed',
  /** Calls are rejected until the open period has passed. */
  OPEN: 'open',
  /** A limited number of trial calls decide whether to close or reopen. */
  HALF_OPEN: 'half_open',
  /** Opened by hand with `trip()`: calls are rejected until `reset()`. */
  FORCED_OPEN: 'forced_open',
  /** Switched off with `disable()`: calls pass straight through and nothing opens it. */
  DISABLED: 'disabled',
} as const;

/** @publicApi */
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

/** Every state, in a fixed order (metrics publish one series per state). */
export const CIRCUIT_STATES: readonly CircuitState[] = Object.values(CircuitState);
