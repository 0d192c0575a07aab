import { requireOptional } from '../core/optional-peer';
import { AdapterRequest, type Adapter, type AdapterConfig, type CanceledErrorClass } from './adapter-request';
import type { OriginBreakers } from './origin-breakers';
import { sendThroughBreaker } from './origin-request';
import { isProtectedFetch, plainGlobalFetch } from './resilient-fetch';

/** What is used of an Axios instance, typed here so that axios stays an optional peer. */
export interface AxiosInstanceLike {
  defaults: { adapter?: unknown };
  interceptors: { request: object };
}

/** `axios.getAdapter` of the copy of axios that made an instance. */
type GetAdapter = (adapters: unknown, config: AdapterConfig) => Adapter;

interface AxiosModule extends AxiosInstanceLike {
  getAdapter: GetAdapter;
  CanceledError: CanceledErrorClass;
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
  const { getAdapter, CanceledError } = await axiosCopyOf(instance);
  if (protectedInstances.has(instance)) return undefined;
  protectedInstances.add(instance);
  const original = instance.defaults.adapter;
  const protectedAdapter: Adapter = (config) => {
    let adapter = getAdapter(original, config);
    const breaker = origins.forUrl(urlOf(config));
    if (breaker === undefined) return adapter(config);
    // axios's fetch adapter calls the global fetch, which `http.fetch` may protect too: it is
    // handed the fetch behind that protection, so that a request is one call of its breaker.
    if (
      isProtectedFetch(globalThis.fetch) &&
      config.env?.fetch === undefined &&
      adapter === getAdapter('fetch', config)
    ) {
      config.env = { ...config.env, fetch: plainGlobalFetch() };
      adapter = getAdapter(original, config);
    }
    const timed = breaker.options.timeout !== false;
    return sendThroughBreaker(
      breaker,
      new AdapterRequest(breaker.name, adapter, config, timed ? CanceledError : undefined),
    );
  };
  instance.defaults.adapter = protectedAdapter;
  return () => {
    protectedInstances.delete(instance);
    if (instance.defaults.adapter === protectedAdapter) instance.defaults.adapter = original;
  };
}

/** An absolute URL as axios tells one (`isAbsoluteURL`): a scheme, or none, then `//`. */
const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/**
 * A URL of the origin a request goes to, as axios's `buildFullPath` makes it: its `baseURL`
 * with a path added (same origin) when `url` is relative or `allowAbsoluteUrls` is false, else `url`.
 */
function urlOf(config: AdapterConfig): string {
  const url = config.url ?? '';
  const { baseURL } = config;
  if (!baseURL) return url;
  return config.allowAbsoluteUrls === false || !ABSOLUTE_URL.test(url) ? baseURL : url;
}

/**
 * The copy of axios that made `instance`, so that adapters (and the errors they throw) and
 * cancellations are that copy's: axios ships a CommonJS and an ESM build, and an ESM
 * `@nestjs/axios` uses the ESM one. A copy made the instance when its interceptor class did.
 */
async function axiosCopyOf(instance: AxiosInstanceLike): Promise<AxiosModule> {
  const sameCopy = (axios: AxiosModule) =>
    axios.interceptors.request.constructor === instance.interceptors.request.constructor;
  const commonJs = requireOptional<AxiosModule>('axios');
  if (commonJs !== undefined && sameCopy(commonJs)) return commonJs;
  try {
    // In a try, which bundlers read as optional: an app without axios still builds.
    const esm = ((await import('axios')) as unknown as { default: AxiosModule }).default;
    if (sameCopy(esm)) return esm;
  } catch (error) {
    // Only axios missing (for require too) means no copy this app resolves; any other failure is thrown.
    if (commonJs !== undefined) throw error;
  }
  throw new Error(
    'nest-resilience cannot protect an HttpService: its Axios instance comes from a copy of axios other than ' +
      'the one this app resolves ("axios"); install one copy of axios, or set http.axios to false',
  );
}
