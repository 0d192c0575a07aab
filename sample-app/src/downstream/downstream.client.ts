import { BadGatewayException, HttpException, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { downstreamUrl } from './downstream-url';
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
    const url = `${downstreamUrl(this.adapterHost)}/downstream/quote/${encodeURIComponent(id)}`;
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
}
