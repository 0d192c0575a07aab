import { apiError, connectionError } from './cli-errors';

/** How long the CLI waits for the admin API's whole answer before giving up. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface AdminClientOptions {
  /** Base URL of the admin API, e.g. `http://127.0.0.1:3000/resilience`. */
  url: string;
  token: string | undefined;
  fetch: typeof fetch;
  /** @default 10_000 */
  timeoutMs?: number;
}

/**
 * Talks to the admin API over HTTP and turns every failure into a {@link CliError} whose
 * message a person can act on: what went wrong, and what to try.
 */
export class AdminClient {
  /** The admin API's URL, as errors name it. */
  readonly base: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: Record<string, unknown>): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
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
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw connectionError(this.unreachable(error));
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw connectionError(this.cutOff(error));
    }
    if (!response.ok) throw apiError(this.refusal(response.status, text));
    try {
      return JSON.parse(text) as T;
    } catch {
      throw apiError(`${this.base} answered with something other than JSON; is --url the admin API's path?`);
    }
  }

  private unreachable(error: unknown): string {
    if (isTimeout(error)) return `No answer from ${this.base} within ${this.timeoutMs / 1000} s.`;
    return `Cannot connect to ${this.base} (${whyFailed(error)}). Is the app running, and is --url (or NEST_RESILIENCE_URL) right?`;
  }

  /** The server sent its headers, then stalled or broke the connection before the body ended. */
  private cutOff(error: unknown): string {
    if (isTimeout(error)) {
      return `${this.base} started to answer, then sent nothing more within ${this.timeoutMs / 1000} s.`;
    }
    return `The answer from ${this.base} was cut off (${whyFailed(error)}). Is the app restarting, or a proxy in between?`;
  }

  private refusal(status: number, text: string): string {
    const { message = `HTTP ${status}`, breaker, id } = errorBody(text);
    switch (status) {
      case 401:
        return `${message}. Pass --token <token> or set NEST_RESILIENCE_TOKEN.`;
      case 403:
        return `${message}: the admin guard refused these credentials.`;
      case 404:
        // The admin API names the breaker or dead letter it did not find; any other 404 means a wrong URL.
        return breaker === undefined && id === undefined
          ? `No admin API at ${this.base} (${message}). Check --url and that the app mounts the admin routes.`
          : message;
      case 409:
        // A breaker's conflict is its reset cooldown; a dead letter's is not one --force overrides.
        return breaker === undefined ? message : `${message} (with this CLI: --force)`;
      default:
        return message;
    }
  }
}

/** A DOMException, which is not an Error in every realm: its name tells. */
function isTimeout(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'TimeoutError';
}

/** The lowest-level reason fetch gives: a system error code (ECONNREFUSED) or a message. */
function whyFailed(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  return String(cause?.code ?? cause?.message ?? (error as { message?: unknown } | null)?.message ?? error);
}

/** An error body as the admin API sends it (Nest's): `{ statusCode, error, message }`, and what it names. */
interface ErrorBody {
  statusCode?: unknown;
  message?: unknown;
  breaker?: unknown;
  id?: unknown;
}

/**
 * What an error answer says: the `message` of the admin API's body (a string or a list), found
 * also where an app's own exception filter wrapped that body in one of its own; else its text.
 */
function errorBody(text: string): { message: string | undefined; breaker: unknown; id: unknown } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: a proxy or another server answered; show what it said.
  }
  const body = nestBody(json);
  const raw = body?.message;
  const message =
    typeof raw === 'string'
      ? raw
      : Array.isArray(raw)
        ? raw.join('; ')
        : text.trim().slice(0, 200) || undefined;
  return { message, breaker: body?.breaker, id: body?.id };
}

/** How many values of an error answer are looked at for its body. */
const MAX_VISITED = 100;

/** The outermost object in `json` shaped as Nest's error body, else the outermost with a `message`. */
function nestBody(json: unknown): ErrorBody | undefined {
  const queue: unknown[] = [json];
  let withMessage: ErrorBody | undefined;
  // Breadth first, and only so far: an answer is small, but it comes from the network.
  for (let i = 0; i < queue.length && i < MAX_VISITED; i++) {
    const value = queue[i];
    if (typeof value !== 'object' || value === null) continue;
    const body = value as ErrorBody;
    const hasMessage = typeof body.message === 'string' || Array.isArray(body.message);
    if (hasMessage && typeof body.statusCode === 'number') return body;
    if (hasMessage) withMessage ??= body;
    for (const child of Object.values(value)) {
      if (queue.length >= MAX_VISITED) break;
      queue.push(child);
    }
  }
  return withMessage;
}
