import type { BreakerTimeoutError } from '../core/errors';
import { learnFrom, sendThrough, unlearn, type AbortingDispatcher } from './dispatch-abort';
import { OriginRequest } from './origin-request';

type Fetch = typeof globalThis.fetch;
type FetchInput = Parameters<Fetch>[0];

/**
 * A `fetch()` call through its origin's breaker, as its caller wrote it, with `aborter`: what
 * the breaker's timeout aborts it through.
 */
abstract class FetchRequest<A> extends OriginRequest<Response> {
  constructor(
    breaker: string,
    protected readonly signal: AbortSignal | undefined,
    protected readonly fetch: Fetch,
    protected readonly input: FetchInput,
    protected readonly init: RequestInit | undefined,
    protected readonly aborter: A,
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
export class DispatchedFetch extends FetchRequest<AbortingDispatcher> {
  start(): Promise<Response> {
    const response = sendThrough(this.fetch, this.aborter, this.input, this.init);
    if (!this.aborter.hooked) unlearn(this.fetch);
    return response;
  }

  timedOut(error: BreakerTimeoutError): void {
    this.aborter.abort(error);
  }

  protected override settled(): void {
    this.aborter.settled();
  }
}

/**
 * A request through a `fetch` not yet known to send through the dispatcher it is given: it
 * carries both a dispatcher and a signal the timeout aborts, and teaches which way works.
 */
export class LearningFetch extends DispatchedFetch {
  private readonly controller = new AbortController();

  override start(): Promise<Response> {
    const { fetch, aborter } = this;
    return learnFrom(
      fetch,
      aborter,
      sendThrough(fetch, aborter, this.input, this.withSignal(this.controller.signal)),
    );
  }

  override timedOut(error: BreakerTimeoutError): void {
    super.timedOut(error);
    this.controller.abort(error);
  }
}

/**
 * A request the breaker's timeout aborts through its signal (a `fetch` that does not send
 * through a given dispatcher, a `Request`), or, without a controller, that no timeout aborts:
 * then `init` reaches `fetch` as written.
 */
export class SignalledFetch extends FetchRequest<AbortController | undefined> {
  start(): Promise<Response> {
    const { aborter } = this;
    return this.fetch(this.input, aborter === undefined ? this.init : this.withSignal(aborter.signal));
  }

  timedOut(error: BreakerTimeoutError): void {
    this.aborter?.abort(error);
  }
}
