import type { BreakerTimeoutError } from '../core/errors';
import { isFailureStatus } from './http-failure';
import { OriginRequest, type CallerSignal } from './origin-request';

/** What an Axios adapter is given (axios's own copy of the request's config): only the fields used here. */
export interface AdapterConfig {
  url?: string;
  baseURL?: string;
  allowAbsoluteUrls?: boolean;
  /** What axios's fetch adapter calls instead of the globals (`fetch`). */
  env?: { fetch?: unknown };
  signal?: unknown;
  cancelToken?: unknown;
}

export type Adapter = (config: AdapterConfig) => Promise<{ status: number }>;

type CancelListener = (reason: unknown) => void;

/** The codes of the errors axios fails a request with before it sends it. */
const REFUSED = new Set<unknown>([
  'ERR_BAD_REQUEST',
  'ERR_BAD_OPTION',
  'ERR_BAD_OPTION_VALUE',
  'ERR_INVALID_URL',
  'ERR_NOT_SUPPORT',
  'ERR_FR_MAX_BODY_LENGTH_EXCEEDED',
]);

/** The part of an axios `CancelToken` that axios and its adapters use. */
interface CancelToken {
  readonly reason?: unknown;
  subscribe(listener: CancelListener): void;
  unsubscribe(listener: CancelListener): void;
  throwIfRequested(): void;
}

/** axios's `CanceledError`, what a cancelled request fails with. */
export type CanceledErrorClass = new (message: string, config?: unknown) => Error;

/**
 * A request through an axios adapter. When the breaker has a `timeout`, the request is its own
 * cancel token while the adapter runs: axios honours a token beside the caller's signal, and
 * this one costs no allocation (on Node 20 an AbortSignal costs many times more than the rest of
 * a protected request, an axios `CancelToken` two promises and five closures). It stands in for
 * the caller's token (HttpService gives every request one), to which it passes every
 * subscription on. The config is axios's own copy for this request; the response or error
 * carries it, so its token is given back as it came.
 */
export class AdapterRequest extends OriginRequest<{ status: number }> implements CancelToken {
  /** The cancellation the breaker's timeout made, as axios reads a token's. */
  reason: Error | undefined;
  private readonly callerToken: CancelToken | undefined;
  /** The adapter's listener (it subscribes one), then any more. */
  private listener: CancelListener | undefined;
  private more: CancelListener[] | undefined;

  constructor(
    breaker: string,
    private readonly adapter: Adapter,
    private readonly config: AdapterConfig,
    /** Given when the breaker has a timeout. */
    private readonly CanceledError: CanceledErrorClass | undefined,
  ) {
    super(breaker, config.signal as CallerSignal | undefined);
    this.callerToken = config.cancelToken as CancelToken | undefined;
    if (CanceledError !== undefined) config.cancelToken = this;
  }

  start(): Promise<{ status: number }> {
    return this.adapter(this.config);
  }

  /**
   * An answer axios failed because its `validateStatus` refused the status (a 404 by default),
   * where the status is none of a failure's, is a success of its origin's, as the same response
   * through `fetch` is; its caller still gets axios's error.
   */
  override failed(error: unknown): boolean | 'success' {
    const answer = error as { isAxiosError?: unknown; response?: { status?: unknown } } | null;
    const status = answer?.response?.status;
    if (answer?.isAxiosError !== true || typeof status !== 'number' || isFailureStatus(status)) {
      return super.failed(error);
    }
    this.settled();
    return 'success';
  }

  /** axios refused it as written (a body over `maxBodyLength`, a protocol it lacks): no response, one of these codes. */
  protected override sent(error: unknown): boolean {
    const failure = error as { isAxiosError?: unknown; response?: unknown; code?: unknown } | null;
    return !(failure?.isAxiosError === true && failure.response === undefined && REFUSED.has(failure.code));
  }

  timedOut(error: BreakerTimeoutError): void {
    const { CanceledError } = this;
    if (CanceledError === undefined) return;
    const reason = (this.reason = new CanceledError(error.message, this.config));
    // Given back first: axios checks the token once the adapter has failed, and the caller's
    // BreakerTimeoutError is no cancellation of theirs.
    this.settled();
    this.listener?.(reason);
    for (const listener of this.more ?? []) listener(reason);
  }

  subscribe(listener: CancelListener): void {
    if (this.reason !== undefined) return listener(this.reason);
    if (this.listener === undefined) this.listener = listener;
    else (this.more ??= []).push(listener);
    this.callerToken?.subscribe(listener);
  }

  unsubscribe(listener: CancelListener): void {
    if (this.listener === listener) this.listener = undefined;
    else this.more = this.more?.filter((kept) => kept !== listener);
    this.callerToken?.unsubscribe(listener);
  }

  throwIfRequested(): void {
    this.callerToken?.throwIfRequested();
    if (this.reason !== undefined) throw this.reason;
  }

  /** What axios's fetch adapter asks of a token. */
  toAbortSignal(): AbortSignal {
    const controller = new AbortController();
    this.subscribe((reason) => controller.abort(reason));
    return controller.signal;
  }

  protected override settled(): void {
    if (this.config.cancelToken === this) this.config.cancelToken = this.callerToken;
  }
}
