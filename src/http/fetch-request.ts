import type { BreakerTimeoutError } from '../core/errors';
import { learnFrom, sendThrough, unlearn, type AbortingDispatcher } from './dispatch-abort';
import type { FailedResponseError } from './http-failure';
import { ORIGIN_BREAKER_PREFIX, originOf } from './origin';
import { OriginRequest } from './origin-request';

type Fetch = typeof globalThis.fetch;
type FetchInput = Parameters<Fetch>[0];

/**
 * A `fetch()` call through its origin's breaker, as its caller wrote it, with `how`: what the
 * breaker's timeout aborts it through (a dispatcher of ours; for a signal, whether there is a
 * timeout at all).
 */
abstract class FetchRequest<H> extends OriginRequest<Response, AbortSignal> {
  /** The signal the timeout aborts, made once the breaker has admitted the request. */
  protected controller: AbortController | undefined;

  constructor(
    breaker: string,
    signal: AbortSignal | undefined,
    protected readonly fetch: Fetch,
    protected readonly input: FetchInput,
    protected readonly init: RequestInit | undefined,
    protected readonly how: H,
  ) {
    super(breaker, signal);
  }

  /**
   * A response from another origin, which a redirect led to, is no answer of this one's: this
   * origin answered with the redirect, a success.
   */
  override failureOf(response: Response): FailedResponseError<Response> | undefined {
    const failure = super.failureOf(response);
    if (failure === undefined || !response.redirected) return failure;
    return this.answeredLast(response) ? failure : undefined;
  }

  /** Whether this origin gave `response`, which came after a redirect. */
  protected answeredLast(response: Response): boolean {
    return `${ORIGIN_BREAKER_PREFIX}${originOf(response.url)}` === this.breaker;
  }

  /**
   * `init` with a signal that aborts on the caller's own and on the breaker's timeout: made as
   * the request starts, so that a request the breaker rejects costs no controller.
   */
  protected withTimeoutSignal(): RequestInit {
    const own = (this.controller = new AbortController()).signal;
    const caller = this.callerSignal;
    return { ...this.init, signal: caller === undefined ? own : AbortSignal.any([caller, own]) };
  }
}

/**
 * A request the breaker's timeout aborts through the dispatcher it is sent through: no abort
 * signal is made for it (see `AbortingDispatcher`), and `init` reaches `fetch` as written.
 */
export class DispatchedFetch extends FetchRequest<AbortingDispatcher> {
  constructor(
    breaker: string,
    signal: AbortSignal | undefined,
    fetch: Fetch,
    input: FetchInput,
    init: RequestInit | undefined,
    how: AbortingDispatcher,
  ) {
    super(breaker, signal, fetch, input, init, how);
    how.request = this;
  }

  start(): Promise<Response> {
    const response = sendThrough(this.fetch, this.how, this.input, this.init);
    if (!this.how.hooked) unlearn(this.fetch);
    return response;
  }

  timedOut(error: BreakerTimeoutError): void {
    this.how.abort(error);
  }

  /**
   * Once a redirect led to another origin, whose breaker ran each hop there (see `RedirectHop`),
   * this origin's answer was the redirect, a success; whatever came after is those origins'.
   */
  override failed(error: unknown): boolean | 'success' {
    const verdict = super.failed(error);
    return verdict === true && this.how.hop !== undefined ? 'success' : verdict;
  }

  /**
   * A hop's breaker stopped the request (it refused the hop, or its timeout ended it): `fetch`
   * failed with a `TypeError` whose `cause` is that breaker's error, which the caller gets, as
   * from a request sent to that origin first (a route answers 503 with `Retry-After`).
   */
  errorForCaller(error: unknown): unknown {
    const stoppedBy = this.how.hop?.stoppedBy;
    return stoppedBy !== undefined && (error as { cause?: unknown } | null)?.cause === stoppedBy
      ? stoppedBy
      : error;
  }

  protected override answeredLast(response: Response): boolean {
    return this.how.hop === undefined && super.answeredLast(response);
  }

  protected override settled(): void {
    this.how.settled();
  }

  /**
   * Undici dispatches a request once it is built: one that failed before never left, with a
   * TypeError of its own (a network error is one too, with a `cause`). A request a wrapper sent
   * later through the global dispatcher never reached ours either: what it failed with tells.
   */
  protected override sent(error: unknown): boolean {
    return this.how.hooked || !(error instanceof TypeError && error.cause === undefined);
  }
}

/**
 * A request through a `fetch` not yet known to send through the dispatcher it is given: it
 * carries both a dispatcher and a signal the timeout aborts, and teaches which way works.
 */
export class LearningFetch extends DispatchedFetch {
  override start(): Promise<Response> {
    const { fetch, how } = this;
    return learnFrom(fetch, how, sendThrough(fetch, how, this.input, this.withTimeoutSignal()));
  }

  override timedOut(error: BreakerTimeoutError): void {
    super.timedOut(error);
    this.controller?.abort(error);
  }
}

/**
 * A request the breaker's timeout aborts through its signal (a `fetch` that does not send
 * through a given dispatcher, a `Request`) when `how` (timed) is true; otherwise no timeout
 * aborts it, and `init` reaches `fetch` as written.
 */
export class SignalledFetch extends FetchRequest<boolean> {
  start(): Promise<Response> {
    return this.fetch(this.input, this.how ? this.withTimeoutSignal() : this.init);
  }

  timedOut(error: BreakerTimeoutError): void {
    this.controller?.abort(error);
  }
}
