import { Injectable } from '@nestjs/common';
import { CircuitBreaker, getBreakerSignal } from 'nest-resilience';
import { DownstreamClient } from '../downstream/downstream.client';
import type { Quote } from '../downstream/quote';

/** A quote as this app serves it: fresh from the downstream, or the last one it saw. */
export type ServedQuote = (Quote & { stale: false }) | (Quote & { stale: true; staleBecause: string });

/**
 * Quotes protected by the `downstream` breaker, with a fallback: while the downstream fails
 * (and while the breaker is open, without calling it at all) callers get the last quote seen.
 */
@Injectable()
export class QuoteService {
  private readonly lastSeen = new Map<string, Quote>();

  constructor(private readonly downstream: DownstreamClient) {}

  @CircuitBreaker('downstream', { fallback: 'cachedQuote' })
  async quote(id: string): Promise<ServedQuote> {
    const quote = await this.downstream.getQuote(id, getBreakerSignal());
    this.lastSeen.set(id, quote);
    return { ...quote, stale: false };
  }

  /** The fallback: called with `quote`'s arguments and the error, on failures and rejections. */
  cachedQuote(id: string, error: Error): ServedQuote {
    const quote = this.lastSeen.get(id);
    // Nothing to serve: fail as the call did (an open breaker still answers 503 + Retry-After).
    if (quote === undefined) throw error;
    return { ...quote, stale: true, staleBecause: error.message };
  }
}
