import { apiError, connectionError } from './cli-errors';

/** How long the CLI waits for the admin API before giving up. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface AdminClientOptions {
  /** Base URL of the admin API, e.g. `http://127.0.0.1:3000/resilience`. */
  url: string;
  token: string | undefined;
  fetch: typeof fetch;
}

/**
 * Talks to the admin API over HTTP and turns every failure into a {@link CliError} whose
 * message a person can act on: what went wrong, and what to try.
 */
export class AdminClient {
  private readonly base: string;

  constructor(private readonly options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: Record<string, unknown>): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: Record<string, unknown>): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    let response: Response;
    try {
      response = await this.options.fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw connectionError(this.unreachable(error));
    }
    const text = await response.text();
    if (!response.ok) throw apiError(this.refusal(response.status, text));
    try {
      return JSON.parse(text) as T;
    } catch {
      throw apiError(`${this.base} answered with something other than JSON; is --url the admin API's path?`);
    }
  }

  private unreachable(error: unknown): string {
    // A DOMException, which is not an Error in every realm: check its name only.
    if ((error as { name?: unknown }).name === 'TimeoutError') {
      return `No answer from ${this.base} within ${REQUEST_TIMEOUT_MS / 1000} s.`;
    }
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    return `Cannot connect to ${this.base} (${String(why)}). Is the app running, and is --url (or NEST_RESILIENCE_URL) right?`;
  }

  private refusal(status: number, text: string): string {
    const { message = `HTTP ${status}`, breaker } = errorBody(text);
    switch (status) {
      case 401:
        return `${message}. Pass --token <token> or set NEST_RESILIENCE_TOKEN.`;
      case 403:
        return `${message}: the admin guard refused these credentials.`;
      case 404:
        // The admin API names the breaker it did not find; any other 404 means a wrong URL.
        return breaker === undefined
          ? `No admin API at ${this.base} (${message}). Check --url and that the app mounts the admin routes.`
          : message;
      case 409:
        return `${message} (with this CLI: --force)`;
      default:
        return message;
    }
  }
}

/** What an error answer says: the `message` of a Nest error body (a string or a list), else its text. */
function errorBody(text: string): { message: string | undefined; breaker: unknown } {
  let body: { message?: unknown; breaker?: unknown } | null | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: a proxy or another server answered; show what it said.
  }
  const raw = body?.message;
  const message =
    typeof raw === 'string'
      ? raw
      : Array.isArray(raw)
        ? raw.join('; ')
        : text.trim().slice(0, 200) || undefined;
  return { message, breaker: body?.breaker };
}
