/**
 * Child process of the redirect-route test: a real Nest app with `http: { fetch: true }` whose
 * route fetches the URL it is given with Node's own `fetch`, outside Jest's sandbox (which hides
 * undici's global dispatcher: there a redirect is followed unseen). Prints its URL (one JSON
 * line), then serves:
 * - `GET /proxy?url=<url>`: fetches `url` and answers `{ status }` of the response; an error
 *   escapes the route as it came;
 * - `GET /breakers`: each origin breaker's state and counts.
 * Usage: node --require ../support/swc-register.js redirect-route-child.ts
 */
import 'reflect-metadata';
import { Controller, Get, Module, Query } from '@nestjs/common';
import { BreakerRegistry } from '../../src/core/registry';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { serveChildApp } from '../support/serve-child-app';

@Controller()
class ProxyController {
  constructor(private readonly registry: BreakerRegistry) {}

  @Get('proxy')
  async proxy(@Query('url') url: string): Promise<{ status: number }> {
    const response = await fetch(url);
    await response.text();
    return { status: response.status };
  }

  @Get('breakers')
  breakers(): object {
    return Object.fromEntries(
      this.registry
        .all()
        .filter((breaker) => breaker.name.startsWith('http:'))
        .map((breaker) => {
          const { state, calls, successes, failures, rejected } = breaker.snapshot();
          return [breaker.name, { state, calls, successes, failures, rejected }];
        }),
    );
  }
}

@Module({
  imports: [
    ResilienceModule.forRoot({
      metrics: false,
      http: { fetch: true, defaults: { failureThreshold: 1, openDuration: 60_000 } },
    }),
  ],
  controllers: [ProxyController],
})
class AppModule {}

serveChildApp(AppModule);
