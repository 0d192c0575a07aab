/**
 * Child process of the shutdown test: a Nest app on the sqlite store closes while a protected
 * call is in flight. It prints (one JSON line each) when closing starts, the response of the
 * call, and when `app.close()` resolved; then it must exit by itself, with nothing left running.
 * Usage: node --require ./swc-register.js nest-shutdown-child.ts <file> <driver>
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { request } from 'node:http';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { ResilienceModule } from '../../src/nest/resilience.module';
import type { SqliteDriverName } from '../../src/stores/sqlite-drivers/sqlite-driver';

let started!: () => void;
const callStarted = new Promise<void>((resolve) => (started = resolve));
let finish!: () => void;
const callMayFinish = new Promise<void>((resolve) => (finish = resolve));

@Controller('quotes')
class QuotesController {
  @Get('slow')
  @CircuitBreaker('payments')
  async slow(): Promise<string> {
    started();
    await callMayFinish;
    return 'slow quote';
  }
}

@Module({
  imports: [
    ResilienceModule.forRoot({
      metrics: false,
      store: { type: 'sqlite', path: process.argv[2], driver: process.argv[3] as SqliteDriverName },
      breakers: { payments: {} },
    }),
  ],
  controllers: [QuotesController],
})
class AppModule {}

/** One request on its own connection (closed after it), so no client socket outlives the test. */
function get(url: string): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    })
      .on('error', reject)
      .end();
  });
}

const print = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const response = get(`${await app.getUrl()}/quotes/slow`);
  await callStarted;
  const inFlight = app.get(BreakerRegistry).get('payments').inFlight;
  const closing = app.close();
  print({ event: 'closing', inFlight });
  // The call ends only after shutdown has begun: shutdown must wait for it.
  setTimeout(finish, 100);
  print({ event: 'response', ...(await response) });
  await closing;
  print({ event: 'closed' });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
