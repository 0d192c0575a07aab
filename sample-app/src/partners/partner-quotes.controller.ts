import { HttpService } from '@nestjs/axios';
import { Controller, Get, Param } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { lastValueFrom } from 'rxjs';
import { downstreamUrl } from '../downstream/downstream-url';
import type { Quote } from '../downstream/quote';

/**
 * Calls the flaky downstream through `HttpService` with no decorator and no breaker name:
 * the module's `http: { axios: true }` puts every request behind the breaker of its origin
 * (`http:http://127.0.0.1:<port>`). A 5xx still reaches this code as Axios reports it; once the
 * origin's breaker is open the request fails at once, without a connection, and the route
 * answers 503 with `Retry-After`.
 */
@Controller('partner')
export class PartnerQuotesController {
  constructor(
    private readonly http: HttpService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get('quotes/:id')
  async quote(@Param('id') id: string): Promise<Quote> {
    const url = `${downstreamUrl(this.adapterHost)}/downstream/quote/${encodeURIComponent(id)}`;
    const { data } = await lastValueFrom(this.http.get<Quote>(url));
    return data;
  }
}
