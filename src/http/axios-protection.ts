import type { OriginBreakers } from './origin-breakers';
import { noteCallerAbort } from './http-failure';
import { sendCancellable, sendThroughBreaker } from './origin-request';

/** What is used of an Axios instance, typed here so that axios stays an optional peer. */
export interface AxiosInstanceLike {
  defaults: { adapter?: unknown };
  interceptors: { request: object };
}

/** What an Axios adapter is given (axios's own copy of the request's config): only the fields used here. */
interface AdapterConfig {
  url?: string;
  baseURL?: string;
  signal?: unknown;
  cancelToken?: unknown;
}

type Adapter = (config: AdapterConfig) => Promise<{ status: number }>;

/** `axios.getAdapter` of the copy of axios that made an instance. */
type GetAdapter = (adapters: unknown, config: AdapterConfig) => Adapter;

/** axios's `CancelToken`: the executor is handed the function that cancels. */
type CancelTokenClass = new (executor: (cancel: (message: string) => void) => void) => object;

interface AxiosModule extends AxiosInstanceLike {
  getAdapter: GetAdapter;
  CancelToken: CancelTokenClass;
}

/** Instances protected now, so that none is protected twice, whichever app asks. */
const protectedInstances = new WeakSet<object>();

/**
 * Puts the origin breakers in front of the adapter of `instance` (the function that sends a
 * request, after interceptors and transforms): each request goes through the breaker of its
 * origin, errors and responses reach the caller unchanged. Returns the function that takes the
 * protection off again; undefined when the instance is protected already. A request that sets
 * an `adapter` of its own goes around the protection.
 * @throws {Error} when no copy of axios that can be loaded made `instance`.
 */
export async function protectAxiosInstance(
  instance: AxiosInstanceLike,
  origins: OriginBreakers,
): Promise<(() => void) | undefined> {
  if (protectedInstances.has(instance)) return undefined;
  const { getAdapter, CancelToken } = await axiosCopyOf(instance);
  if (protectedInstances.has(instance)) return undefined;
  protectedInstances.add(instance);
  const original = instance.defaults.adapter;
  const protectedAdapter: Adapter = (config) => {
    const adapter = getAdapter(original, config);
    const breaker = origins.forUrl(urlOf(config));
    if (breaker === undefined) return adapter(config);
    const own = { signal: config.signal, cancelToken: config.cancelToken };
    // The config is axios's own copy for this request: it is lent to the adapter with the
    // breaker's signal or token, and put back as it came, since the response or error carries it
    // (and a retry may send it again).
    const send = (signal: unknown, cancelToken: unknown) => {
      config.signal = signal;
      config.cancelToken = cancelToken;
      return adapter(config).then(
        (response) => {
          Object.assign(config, own);
          return response;
        },
        (error: unknown) => {
          Object.assign(config, own);
          // A cancel token's cancellation is the caller's doing too (the breaker's comes after its timeout).
          if ((error as { __CANCEL__?: unknown } | null)?.__CANCEL__ === true) noteCallerAbort(error);
          throw error;
        },
      );
    };
    const ownSignal = own.signal instanceof AbortSignal ? own.signal : undefined;
    if (own.cancelToken === undefined || breaker.options.timeout === false) {
      // The breaker's timeout cancels through a cancel token, which axios honours beside the
      // caller's signal: on Node 20 it costs a fraction of an AbortSignal of the breaker's.
      let cancel: ((message: string) => void) | undefined;
      const token =
        own.cancelToken ??
        (breaker.options.timeout === false ? undefined : new CancelToken((c) => (cancel = c)));
      return sendCancellable(
        breaker,
        own.signal as { aborted: boolean } | undefined,
        () => send(own.signal, token),
        (error) => cancel?.(error.message),
      );
    }
    // The caller's own cancel token stays, and the breaker's signal goes with the caller's. A
    // signal that is not an AbortSignal (an old polyfill) cannot be combined with it: it stays.
    if (own.signal !== undefined && ownSignal === undefined)
      return sendThroughBreaker(breaker, undefined, () => send(own.signal, own.cancelToken));
    return sendThroughBreaker(breaker, ownSignal, (signal) => send(signal, own.cancelToken));
  };
  instance.defaults.adapter = protectedAdapter;
  return () => {
    protectedInstances.delete(instance);
    if (instance.defaults.adapter === protectedAdapter) instance.defaults.adapter = original;
  };
}

/** The URL a request goes to: its `url`, against its `baseURL` when relative. */
function urlOf(config: AdapterConfig): string {
  if (config.baseURL === undefined) return config.url ?? '';
  try {
    return new URL(config.url ?? '', config.baseURL).href;
  } catch {
    return '';
  }
}

/**
 * The copy of axios that made `instance`, so that adapters (and the errors they throw) and
 * cancel tokens are that copy's: axios ships a CommonJS and an ESM build, and an ESM
 * `@nestjs/axios` uses the ESM one. A copy made the instance when its interceptor class did.
 */
async function axiosCopyOf(instance: AxiosInstanceLike): Promise<AxiosModule> {
  const sameCopy = (axios: AxiosModule) =>
    axios.interceptors.request.constructor === instance.interceptors.request.constructor;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- axios is an optional peer, loaded only when used
  const commonJs = require('axios') as AxiosModule;
  if (sameCopy(commonJs)) return commonJs;
  const esm = ((await import('axios')) as unknown as { default: AxiosModule }).default;
  if (sameCopy(esm)) return esm;
  throw new Error(
    'nest-resilience cannot protect an HttpService: its Axios instance comes from a copy of axios other than ' +
      'the one this app resolves ("axios"); install one copy of axios, or set http.axios to false',
  );
}
