/** What happens to an error thrown (or rejected) by a listener. */
export type ListenerErrorHandler = (error: unknown, event: string) => void;

/** Reports listener errors as process warnings: visible, and never fatal to a call. */
export const warnListenerError: ListenerErrorHandler = (error, event) => {
  process.emitWarning(
    `A "${event}" listener failed: ${error instanceof Error ? error.stack : String(error)}`,
    {
      code: 'NEST_RESILIENCE_LISTENER',
    },
  );
};

/**
 * A small typed emitter. Listener arrays are replaced, never mutated, so a listener that
 * unsubscribes during `emit` does not disturb it; an event without listeners costs one lookup.
 */
export class EventEmitter<M extends object> {
  private readonly listeners: { [K in keyof M]?: ReadonlyArray<(event: M[K]) => unknown> } = {};

  constructor(private readonly onError: ListenerErrorHandler = warnListenerError) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof M>(event: K, listener: (event: M[K]) => unknown): () => void {
    this.listeners[event] = [...(this.listeners[event] ?? []), listener];
    return () => {
      const left = (this.listeners[event] ?? []).filter((l) => l !== listener);
      this.listeners[event] = left.length > 0 ? left : undefined;
    };
  }

  has(event: keyof M): boolean {
    return this.listeners[event] !== undefined;
  }

  /**
   * Calls every listener. Promises they return are pushed to `pending` when given (a manual
   * action waits for them); otherwise their rejections are reported like thrown errors.
   */
  emit<K extends keyof M>(event: K, payload: M[K], pending?: Promise<unknown>[]): void {
    const listeners = this.listeners[event];
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        const result = listener(payload);
        if (result instanceof Promise) {
          if (pending) pending.push(result);
          else result.catch((error: unknown) => this.onError(error, String(event)));
        }
      } catch (error) {
        this.onError(error, String(event));
      }
    }
  }
}
