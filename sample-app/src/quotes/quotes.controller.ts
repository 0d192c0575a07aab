import { Controller, Get, Param } from '@nestjs/common';
import { CircuitBreaker, getBreakerSignal } from 'nest-resilience';
import { DownstreamClient } from '../downstream/downstream.client';
import type { Quote } from '../downstream/quote';
import { QuoteService, type ServedQuote } from './quote.service';

@Controller('quotes')
export class QuotesController {
  constructor(
    private readonly quotes: QuoteService,
    private readonly downstream: DownstreamClient,
  ) {}

  /** Through the `downstream` breaker and its fallback: stale data rather than an error. */
  @Get(':id')
  quote(@Param('id') id: string): Promise<ServedQuote> {
    return this.quotes.quote(id);
  }

  /**
   * The breaker on the handler itself, with no fallback: while `downstream-direct` is open
   * this answers 503 with a Retry-After header, without calling the downstream.
   */
  @Get(':id/direct')
  @CircuitBreaker('downstream-direct')
  direct(@Param('id') id: string): Promise<Quote> {
    return this.downstream.getQuote(id, getBreakerSignal());
  }
}
