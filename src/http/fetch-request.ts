import type { BreakerTimeoutError } from '../core/errors';
import { AbortingDispatcher, learnFrom, sendThrough, unlearn, type UndiciDispatcher } from './dispatch-abort';
import { OriginRequest } from './origin-request';

type Fetch = typeof globalThis.fetch;
type FetchInput = Parameters<Fetch>[0];

/** A `fetch()` call through its origin's breaker, as its caller wrote it. */
abstract class FetchRequest extends OriginRequest<Response> {
  constructor(
    breaker: string,
    protected readonly signal: AbortSignal | undefined,
    protected readonly fetch: Fetch,
    protected readonly input: FetchInput,
    protected readonly init: RequestInit | undefined,
  ) {
    super(breaker, signal);
  }

  /** `init` with a signal that aborts on the caller's own and on `own`. */
  protected withSignal(own: AbortSignal): RequestInit {
    return { ...this.init, signal: this.signal === undefined ? own : AbortSignal.any([this.signal, own]) };
  }
}

/**
 * A request the breaker's timeout aborts through the dispatcher it is sent through: no abort
 * signal is made for it (see `AbortingDispatcher`), and `init` reaches `fetch` as written.
 */
export class DispatchedFetch extends FetchRequest {
  protected readonly dispatcher: AbortingDispatcher;

  constructor(
    breaker: string,
    signal: AbortSignal | undefined,
    fetch: Fetch,
    input: FetchInput,
    init: RequestInit | undefined,
    target: UndiciDispatcher,
  ) {
    super(breaker, signal, fetch, input, init);
    this.dispatcher = new AbortingDispatcher(target);
  }

  start(): Promise<Response> {
    const response = sendThrough(this.fetch, this.dispatcher, this.input, this.init);
    if (!this.dispatcher.hooked) unlearn(this.fetch);
    return response;
  }

  timedOut(error: BreakerTimeoutError): void {
    this.dispatcher.abort(error);
  }

  protected override settled(): void {
    this.dispatcher.settled();
  }
}

/**
 * A request through a `fetch` not yet known to send through the dispatcher it is given: it
 * carries both a dispatcher and a signal the timeout aborts, and teaches which way works.
 */
export class LearningFetch extends DispatchedFetch {
  private readonly controller = new AbortController();

  override start(): Promise<Response> {
    const { fetch, dispatcher } = this;
    return learnFrom(
      fetch,
      dispatcher,
      sendThrough(fetch, dispatcher, this.input, this.withSignal(this.controller.signal)),
    );
  }

  override timedOut(error: BreakerTimeoutError): void {
    super.timedOut(error);
    this.controller.abort(error);
  }
}

/**
 * A request the breaker's timeout aborts through its signal (a `fetch` that does not send
 * through a given dispatcher, a `Request`), or that no timeout aborts: then `init` reaches
 * `fetch` as written.
 */
export class SignalledFetch extends FetchRequest {
  private readonly controller: AbortController | undefined;

  constructor(
    breaker: string,
    signal: AbortSignal | undefined,
    fetch: Fetch,
    input: FetchInput,
    init: RequestInit | undefined,
    timed: boolean,
  ) {
    super(breaker, signal, fetch, input, init);
    this.controller = timed ? new AbortController() : undefined;
  }

  start(): Promise<Response> {
    const { controller } = this;
    return this.fetch(this.input, controller === undefined ? this.init : this.withSignal(controller.signal));
  }

  timedOut(error: BreakerTimeoutError): void {
    this.controller?.abort(error);
  }
}
