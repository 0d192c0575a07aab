import { apiError, CliError, connectionError } from './cli-errors';

/** How long the CLI waits for the admin API's whole answer before giving up. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The longest answer the CLI reads (bytes). The admin API's largest, 1,000 dead letters of 64 KiB
 * arguments each, stays under it; a server that sends more (a file, a stream that never ends) is
 * not the admin API, and is not read into memory.
 */
export const MAX_ANSWER_BYTES = 128 * 1024 * 1024;

export interface AdminClientOptions {
  /** Base URL of the admin API, e.g. `http://127.0.0.1:3000/resilience`. */
  url: string;
  token: string | undefined;
  fetch: typeof fetch;
  /** @default 10_000 */
  timeoutMs?: number;
  /** @default {@link MAX_ANSWER_BYTES} */
  maxAnswerBytes?: number;
}

/**
 * Talks to the admin API over HTTP and turns every failure into a {@link CliError} whose
 * message a person can act on: what went wrong, and what to try.
 */
export class AdminClient {
  /** The admin API's URL, as errors name it. */
  readonly base: string;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;

  constructor(private readonly options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
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
        // Not followed: the token would go where the redirect points, and a POST become a GET.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw connectionError(this.unreachable(error, method));
    }
    const text = await this.read(response, method);
    if (response.status >= 300 && response.status < 400) throw apiError(this.redirected(response, path));
    if (!response.ok) throw this.refusal(response, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw apiError(`${this.base} answered with something other than JSON; is --url the admin API's path?`);
    }
  }

  /** The answer's body as text, read up to {@link MAX_ANSWER_BYTES}. */
  private async read(response: Response, method: string): Promise<string> {
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    const reader = response.body?.getReader();
    try {
      for (
        let chunk = await reader?.read();
        chunk !== undefined && !chunk.done;
        chunk = await reader?.read()
      ) {
        bytes += chunk.value.byteLength;
        if (bytes > this.maxAnswerBytes) {
          await reader?.cancel().catch(() => undefined);
          throw apiError(
            `${this.base} sent more than ${this.maxAnswerBytes / 1024 / 1024} MiB, more than any answer of the admin API; ` +
              "is --url the admin API's path?",
          );
        }
        chunks.push(chunk.value);
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw connectionError(this.cutOff(error, bytes, method));
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** A redirect is reported with where it points, as the `--url` to give instead when it is the admin API. */
  private redirected(response: Response, path: string): string {
    const location = response.headers.get('location');
    let target: string | undefined;
    try {
      target = location === null ? undefined : new URL(location, this.base + path).href;
    } catch {
      target = location ?? undefined;
    }
    const base = target?.endsWith(path) ? target.slice(0, -path.length) : undefined;
    return (
      `${this.base} answered with a redirect (HTTP ${response.status})${target === undefined ? '' : ` to ${target}`}, ` +
      'which the CLI does not follow (the token would go there, and a POST become a GET); ' +
      (base === undefined
        ? "give the admin API's own URL as --url"
        : `if that is the admin API, pass --url ${base}`)
    );
  }

  private unreachable(error: unknown, method: string): string {
    if (isTimeout(error))
      return `No answer from ${this.base} within ${this.timeoutMs / 1000} s.${mayHaveRun(method)}`;
    const why = whyFailed(error);
    return `Cannot connect to ${this.base} (${why}). ${connectionHint(why, this.base)}`;
  }

  /** The server sent its headers, then did not end the body in time, or broke the connection before it ended. */
  private cutOff(error: unknown, bytes: number, method: string): string {
    if (isTimeout(error)) {
      return (
        `${this.base} started to answer, but its answer did not end within ${this.timeoutMs / 1000} s ` +
        `(${bytes} bytes received).${mayHaveRun(method)}`
      );
    }
    return `The answer from ${this.base} was cut off (${whyFailed(error)}). Is the app restarting, or a proxy in between?${mayHaveRun(method)}`;
  }

  /** An error answer as one line, with what a script needs of it (`--json`) in its details. */
  private refusal(response: Response, text: string): CliError {
    const found = errorBody(text);
    const error = apiError(this.explain(response, text, found));
    error.details = { status: response.status, ...found.details };
    return error;
  }

  private explain(response: Response, text: string, { message, breaker, id, fromApi }: FoundBody): string {
    const { status } = response;
    switch (status) {
      case 401:
        return `${message ?? this.described(response, text)}. Pass --token <token> or set NEST_RESILIENCE_TOKEN.`;
      case 403:
        return `${message ?? this.described(response, text)}: the admin guard refused these credentials.`;
      case 404:
        // The admin API names the breaker or dead letter it did not find; any other 404 means a wrong URL.
        return breaker === undefined && id === undefined
          ? `No admin API at ${this.base} (${message ?? statusLine(response)}). Check --url and that the app mounts the admin routes.`
          : (message ?? statusLine(response));
      case 414:
      case 431:
        // The app's HTTP server, before the admin API: the URL holds the name or id.
        return `${message ?? this.described(response, text)}: the breaker name or dead letter id is too long for the app's HTTP server`;
      case 413:
        // The app's body parser, before the admin API: only a --reason makes a body this large.
        return `${message ?? statusLine(response)} (HTTP 413 from ${this.base}): give a shorter --reason`;
      case 409:
        // A breaker's conflict is its reset cooldown; a dead letter's is not one --force overrides.
        if (message === undefined) return this.described(response, text);
        return breaker === undefined ? message : `${message} (with this CLI: --force)`;
      default:
        if (message === undefined) return this.described(response, text);
        // Nest's answer to an error of the app's own says nothing: say where it came from.
        if (!fromApi && status >= 500)
          return `${message} (${statusLine(response)} from ${this.base}; the app's log says why)`;
        return message;
    }
  }

  /** An error answer without the admin API's message: its status, and what came instead. */
  private described(response: Response, text: string): string {
    const body = text.trim();
    const answered = `${this.base} answered ${statusLine(response)}`;
    if (body === '') return `${answered} with no body`;
    if (/^<(!doctype|html)/i.test(body)) {
      const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1]?.trim().slice(0, 100);
      return `${answered} with an HTML page${title ? ` ("${title}")` : ''}, not the admin API's JSON; is --url the admin API's path?`;
    }
    return `${answered}: ${body.slice(0, 200)}`;
  }
}

/** `HTTP 502 Bad Gateway`, or `HTTP 502` when the server gave no reason phrase. */
function statusLine({ status, statusText }: Response): string {
  return `HTTP ${status}${statusText === '' ? '' : ` ${statusText}`}`;
}

/** After a request that changes something, whose answer did not come whole: it may have been carried out. */
function mayHaveRun(method: string): string {
  return method === 'GET'
    ? ''
    : ' The app may have carried it out: check (status, audit, dead-letters list) before repeating it.';
}

/** What to try when the connection failed for `why` (a system or TLS error code, or a message). */
function connectionHint(why: string, base: string): string {
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(why)) {
    return "The app's TLS certificate is not trusted here: give the CA that signed it with NODE_EXTRA_CA_CERTS=<file.pem>.";
  }
  if (/SSL|TLS|EPROTO/.test(why) && base.startsWith('https:')) {
    return 'Does the app speak plain HTTP there? Then the URL starts with http://.';
  }
  if (why === 'UND_ERR_SOCKET' && base.startsWith('http:')) {
    return 'The app closed the connection at once: does it speak HTTPS there? Then the URL starts with https://.';
  }
  return 'Is the app running, and is --url (or NEST_RESILIENCE_URL) right?';
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

/** What an error answer says, and what of it a script may want (`--json`). */
interface FoundBody {
  /** The `message` of the admin API's body (a string or a list); undefined when it has none. */
  message: string | undefined;
  breaker: unknown;
  id: unknown;
  /** Whether the body is the admin API's own (it names a code, breaker, dead letter or policy). */
  fromApi: boolean;
  details: Record<string, unknown>;
}

/** Fields of the admin API's error bodies passed on by `--json`, when they are plain values. */
const DETAIL_FIELDS = ['code', 'breaker', 'id', 'policy', 'retryAfterMs', 'outcome'] as const;

/**
 * What an error answer says: the `message` of the admin API's body (a string or a list), found
 * also where an app's own exception filter wrapped that body in one of its own.
 */
function errorBody(text: string): FoundBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: a proxy or another server answered.
  }
  const body = nestBody(json);
  const raw = body?.message;
  const message = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join('; ') : undefined;
  const details: Record<string, unknown> = {};
  for (const field of DETAIL_FIELDS) {
    const value = (body as Record<string, unknown> | undefined)?.[field];
    if (typeof value === 'string' || typeof value === 'number') details[field] = value;
  }
  return {
    message: message === undefined || message.trim() === '' ? undefined : message,
    breaker: body?.breaker,
    id: body?.id,
    fromApi: Object.keys(details).length > 0,
    details,
  };
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
