import { Controller, Get, Param } from '@nestjs/common';
import { Bulkhead, getCallSignal, RateLimit, Resilient, Timeout } from 'nest-resilience';
import { DownstreamClient } from '../downstream/downstream.client';
import type { Quote } from '../downstream/quote';

/** Resolves after `ms`, or rejects as soon as `signal` aborts (the work stops with the call). */
function work(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });
}

/**
 * One route per policy around the breaker. Whatever the order of the decorators, a call goes
 * rate limit → bulkhead → total timeout → retry → breaker → method.
 */
@Controller('policies')
export class PoliciesController {
  constructor(private readonly downstream: DownstreamClient) {}

  /**
   * The named policy `quotes` (module options): up to 2 retries with backoff through the breaker
   * `downstream-retried`, within a total timeout; the fallback answers once they run out.
   */
  @Get('quotes/:id')
  @Resilient('quotes', { fallback: 'unavailable' })
  quote(@Param('id') id: string): Promise<Quote> {
    return this.downstream.getQuote(id, getCallSignal());
  }

  unavailable(id: string, error: Error): { id: string; unavailable: true; because: string } {
    return { id, unavailable: true, because: error.message };
  }

  /** 5 calls per 10 s, then 429 with `Retry-After` until a token is due. */
  @RateLimit({ limit: 5, interval: 10_000 })
  @Get('search')
  async search(): Promise<{ results: string[] }> {
    return { results: ['a', 'b'] };
  }

  /** One report at a time: a second one while it runs answers 503 with `Retry-After`. */
  @Bulkhead({ maxConcurrent: 1 })
  @Get('report')
  async report(): Promise<{ report: 'ready' }> {
    await work(2_000, getCallSignal());
    return { report: 'ready' };
  }

  /** Takes 2 s but may take 500 ms: 504, and the work is aborted through the call's signal. */
  @Timeout(500)
  @Get('slow')
  async slow(): Promise<{ done: true }> {
    await work(2_000, getCallSignal());
    return { done: true };
  }
}
