import type { BreakerOptions, PresetName } from './breaker-options';

/**
 * Named defaults per kind of dependency: a call timeout sized for it and how many
 * failures it takes to open.
 * @publicApi
 */
export const PRESETS: Readonly<Record<PresetName, Readonly<BreakerOptions>>> = {
  http: { timeout: 30_000, failureThreshold: 5 },
  llm: { timeout: 120_000, failureThreshold: 3 },
  database: { timeout: 10_000, failureThreshold: 10 },
  notification: { timeout: 60_000, failureThreshold: 10 },
  cache: { timeout: 20_000, failureThreshold: 8 },
};
