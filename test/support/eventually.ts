import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` every `pollMs` until it holds (what another process or Redis does shows up
 * asynchronously), failing after `ms`; answers how long it took.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 2_000,
  pollMs = 5,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await delay(pollMs);
  }
  return Date.now() - started;
}
