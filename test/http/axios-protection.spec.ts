import axios, { type AxiosError, type AxiosResponse } from 'axios';
import { isResilienceError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { protectAxiosInstance } from '../../src/http/axios-protection';
import { originBreakersOf } from '../../src/http/origin-breakers';
import { protectGlobalFetch } from '../../src/http/resilient-fetch';
import type { ResilientFetchOptions } from '../../src/http/http-options';
import { refusingOrigin, startUpstream, type Upstream } from '../support/upstream-server';

describe('protectAxiosInstance: the origin breakers in front of an Axios adapter, real upstream', () => {
  let upstream: Upstream;

  beforeEach(async () => {
    upstream = await startUpstream();
  });
  afterEach(async () => {
    await upstream.close();
  });

  async function protectedAxios(options: ResilientFetchOptions) {
    const registry = new BreakerRegistry();
    const client = axios.create();
    await protectAxiosInstance(client, originBreakersOf(registry, options));
    return { client, breaker: () => registry.get(`http:${upstream.origin}`) };
  }

  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('ends a request on the wire at the breaker’s timeout, and leaves no timer behind', async () => {
    const before = timers();
    const { client, breaker } = await protectedAxios({ defaults: { timeout: 200 } });
    upstream.answer('hang');

    const timedOut = await client.get(upstream.origin).catch((e: unknown) => e);

    expect(isResilienceError(timedOut, 'BREAKER_TIMEOUT')).toBe(true);
    await upstream.abandoned(1);
    expect(breaker().snapshot().failures).toBe(0.5);
    expect(timers()).toBe(before);
  });

  it('aborts on the caller’s signal or cancel token without counting it, the breaker’s timeout still running', async () => {
    const { client, breaker } = await protectedAxios({ defaults: { timeout: 300 } });
    upstream.answer('hang');

    const controller = new AbortController();
    const bySignal = client.get(upstream.origin, { signal: controller.signal }).catch((e: unknown) => e);
    await upstream.received(1);
    controller.abort();
    expect(axios.isCancel(await bySignal)).toBe(true);

    const source = axios.CancelToken.source();
    const byToken = client.get(upstream.origin, { cancelToken: source.token }).catch((e: unknown) => e);
    await upstream.received(2);
    source.cancel('enough');
    expect(axios.isCancel(await byToken)).toBe(true);
    expect(breaker().snapshot()).toMatchObject({ failures: 0, successes: 0 });

    // With a token of the caller's (HttpService gives every request one), the breaker's timeout still ends it.
    const timedOut = await client
      .get(upstream.origin, { cancelToken: axios.CancelToken.source().token })
      .catch((e: unknown) => e);
    expect(isResilienceError(timedOut, 'BREAKER_TIMEOUT')).toBe(true);
    await upstream.abandoned(3);
  });

  it('never counts a request axios refused as written (it never left), and counts a 503', async () => {
    const { client, breaker } = await protectedAxios({ defaults: { failureThreshold: 2 } });
    const refused = await client
      .post(upstream.origin, 'x'.repeat(100), { maxBodyLength: 10 })
      .catch((e: { code?: string }) => e.code);
    expect(refused).toBe('ERR_BAD_REQUEST');
    expect(upstream.requests).toBe(0);
    expect(breaker().snapshot().failures).toBe(0);

    upstream.answer(503);
    await client.get(upstream.origin).catch(() => undefined);
    expect(breaker().snapshot().failures).toBe(1);
  });

  it.each([
    ['with the breaker’s timeout', {}],
    ['with timeout: false', { timeout: false as const }],
  ])(
    'counts a status axios rejects but its origin answered (404, one validateStatus refuses) as a success, %s',
    async (_, defaults) => {
      const { client, breaker } = await protectedAxios({ defaults });
      upstream.answer(404);
      const notFound = (await client.get(upstream.origin).catch((e: unknown) => e)) as AxiosError;
      upstream.answer(200);
      const refused = (await client
        .get(upstream.origin, { validateStatus: (status) => status === 201 })
        .catch((e: unknown) => e)) as AxiosError;

      // The caller gets axios's own error, its config as written.
      expect(axios.isAxiosError(notFound)).toBe(true);
      expect([notFound.response?.status, notFound.code]).toEqual([404, 'ERR_BAD_REQUEST']);
      expect(notFound.config?.cancelToken).toBeUndefined();
      expect(axios.isAxiosError(refused)).toBe(true);
      expect(refused.response?.status).toBe(200);
      expect(breaker().snapshot()).toMatchObject({ calls: 2, successes: 2, failures: 0, inFlight: 0 });

      upstream.answer(503);
      const failing = await client.get(upstream.origin).catch((e: unknown) => e);
      expect(failing).toMatchObject({ response: { status: 503 } });
      expect(breaker().snapshot()).toMatchObject({ calls: 3, successes: 2, failures: 1 });
    },
  );

  it('hands an isFailure of yours the AxiosError of a failing status, and never an answered one', async () => {
    const seen: unknown[] = [];
    const { client } = await protectedAxios({
      defaults: { isFailure: (error) => (seen.push(error), true) },
    });
    upstream.answer(404);
    await client.get(upstream.origin).catch(() => undefined);
    upstream.answer(500);
    await client.get(upstream.origin).catch(() => undefined);

    expect(seen).toEqual([
      expect.objectContaining({ isAxiosError: true, response: expect.objectContaining({ status: 500 }) }),
    ]);
  });

  it('charges the origin axios sends to: the baseURL’s, for an absolute url with allowAbsoluteUrls false', async () => {
    const registry = new BreakerRegistry();
    const client = axios.create({ baseURL: upstream.origin, allowAbsoluteUrls: false });
    await protectAxiosInstance(client, originBreakersOf(registry, {}));
    const elsewhere = await refusingOrigin();

    await client.get(`${elsewhere}/quote`);
    expect(upstream.requests).toBe(1);
    expect(registry.get(`http:${upstream.origin}`).snapshot().calls).toBe(1);
    expect(registry.has(`http:${elsewhere}`)).toBe(false);
  });

  it('gives the request’s config back as the caller wrote it, on a response and on an error', async () => {
    const { client } = await protectedAxios({ defaults: { timeout: 5_000 } });
    const signal = new AbortController().signal;

    const { token } = axios.CancelToken.source();
    const plain = await client.get(upstream.origin);
    const withSignal = await client.get(upstream.origin, { signal });
    const withToken = await client.get(upstream.origin, { cancelToken: token });
    upstream.answer(503);
    const failed = (await client.get(upstream.origin).catch((e: unknown) => e)) as {
      response: AxiosResponse;
    };

    expect([plain.config.signal, plain.config.cancelToken]).toEqual([undefined, undefined]);
    expect([withSignal.config.signal, withSignal.config.cancelToken]).toEqual([signal, undefined]);
    expect(withToken.config.cancelToken).toBe(token);
    expect(failed.response.status).toBe(503);
    expect([failed.response.config.signal, failed.response.config.cancelToken]).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('makes a request through axios’s fetch adapter one breaker call while the global fetch is protected too', async () => {
    const registry = new BreakerRegistry();
    const origins = originBreakersOf(registry, {});
    const restore = protectGlobalFetch(origins);
    try {
      const client = axios.create({ adapter: 'fetch' });
      await protectAxiosInstance(client, origins);
      upstream.answer(503);
      await client.get(upstream.origin).catch(() => undefined);
      expect(upstream.requests).toBe(1);
      expect(registry.get(`http:${upstream.origin}`).snapshot()).toMatchObject({ calls: 1, failures: 1 });
    } finally {
      restore();
    }
  });

  it('ends a request through axios’s fetch adapter at the breaker’s timeout; the caller’s token still cancels it', async () => {
    const registry = new BreakerRegistry();
    const client = axios.create({ adapter: 'fetch' });
    await protectAxiosInstance(client, originBreakersOf(registry, { defaults: { timeout: 200 } }));
    upstream.answer('hang');

    const timedOut = await client.get(upstream.origin).catch((e: unknown) => e);
    expect(isResilienceError(timedOut, 'BREAKER_TIMEOUT')).toBe(true);
    await upstream.abandoned(1);

    const source = axios.CancelToken.source();
    const cancelled = client.get(upstream.origin, { cancelToken: source.token }).catch((e: unknown) => e);
    await upstream.received(2);
    source.cancel('enough');
    expect(axios.isCancel(await cancelled)).toBe(true);
    expect(registry.get(`http:${upstream.origin}`).snapshot()).toMatchObject({ failures: 0.5, calls: 1 });
  });
});
