import { BadGatewayException, HttpException, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { Quote } from './quote';

/**
 * The HTTP client of the downstream, with no breaker of its own: the callers choose how to
 * protect it. Its errors are HTTP exceptions, so a route that lets one through answers a
 * meaningful status, and a 4xx (the caller's mistake) is ignored by the breakers.
 */
@Injectable()
export class DownstreamClient {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /**
   * @param signal Aborts the request: the breaker's, from `getBreakerSignal()`, so that a
   * call the breaker timed out stops instead of running on unseen.
   */
  async getQuote(id: string, signal?: AbortSignal): Promise<Quote> {
    const url = `${this.baseUrl()}/downstream/quote/${encodeURIComponent(id)}`;
    let response: Response;
    try {
      response = await fetch(url, { signal });
    } catch (error) {
      // Aborted: the breaker has already answered the caller with its timeout.
      if (signal?.aborted) throw error;
      throw new BadGatewayException('The downstream could not be reached', { cause: error });
    }
    if (response.ok) return (await response.json()) as Quote;
    const message = `The downstream answered ${response.status}`;
    if (response.status < 500) throw new HttpException(message, response.status);
    throw new BadGatewayException(message);
  }

  /**
   * The simulated downstream is served by this same app, so its URL is the app's own
   * address, known once it listens (whatever `PORT` was, 0 included).
   */
  private baseUrl(): string {
    const address = this.adapterHost.httpAdapter.getHttpServer().address() as AddressInfo | null;
    if (address === null) throw new ServiceUnavailableException('The app is not listening yet');
    return `http://127.0.0.1:${address.port}`;
  }
}
