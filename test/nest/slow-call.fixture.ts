import { getBreakerSignal } from '../../src/nest/breaker-call';

/**
 * Work that outlasts any breaker `timeout`: it settles only when the breaker aborts the call's
 * signal, so a test waits no longer than the timeout and leaves no timer behind. Throws at
 * once outside a protected call, where nothing would ever abort it.
 */
export function outlastTimeout(): Promise<string> {
  const signal = getBreakerSignal();
  if (signal === undefined) return Promise.reject(new Error('not inside a breaker call'));
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve('too late'), { once: true }),
  );
}
