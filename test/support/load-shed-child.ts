/**
 * Child process of the load-shedding test: a real Nest app over HTTP whose `search` breaker
 * sheds (`loadShed: { utilization: 0.5, inFlight: 2 }`). Prints its URL (one JSON line), then
 * serves:
 * - `GET /search/hold`: a protected call that stays running until `POST /release`;
 * - `GET /search/quick`: a protected call that answers at once;
 * - `POST /burn`: keeps the event loop busy (80 ms of every 100) for 1.5 s, unprotected;
 * - `GET /stats`: how many times each protected method ran, and the breaker's snapshot.
 * Usage: node --require ./swc-register.js load-shed-child.ts
 */
import 'reflect-metadata';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { serveChildApp } from './serve-child-app';

const reached = { hold: 0, quick: 0 };
let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));

function burnFor(totalMs: number): void {
  const until = Date.now() + totalMs;
  const timer = setInterval(() => {
    const chunkEnd = Date.now() + 80;
    while (Date.now() < chunkEnd);
    if (Date.now() >= until) clearInterval(timer);
  }, 100);
}

@Controller()
class SearchController {
  constructor(private readonly registry: BreakerRegistry) {}

  @Get('search/hold')
  @CircuitBreaker('search')
  async hold(): Promise<string> {
    reached.hold++;
    await released;
    return 'held';
  }

  @Get('search/quick')
  @CircuitBreaker('search')
  quick(): string {
    reached.quick++;
    return 'quick';
  }

  @Post('burn')
  @HttpCode(202)
  burn(): void {
    burnFor(1_500);
  }

  @Post('release')
  @HttpCode(204)
  release(): void {
    release();
  }

  @Get('stats')
  stats(): object {
    return { reached, snapshot: this.registry.get('search').snapshot() };
  }
}

@Module({
  imports: [
    ResilienceModule.forRoot({
      metrics: false,
      breakers: { search: { loadShed: { utilization: 0.5, inFlight: 2 } } },
    }),
  ],
  controllers: [SearchController],
})
class AppModule {}

serveChildApp(AppModule);
