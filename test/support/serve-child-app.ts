import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/**
 * In a child process: serves `module` as a real Nest app (no logs) on 127.0.0.1 at a free port
 * and prints its URL as one JSON line, `{"url":"http://127.0.0.1:<port>"}`; a failure to start
 * is written to stderr and ends the process with exit code 1.
 */
export function serveChildApp(module: Type): void {
  const main = async (): Promise<void> => {
    const app = await NestFactory.create(module, { logger: false });
    await app.listen(0, '127.0.0.1');
    process.stdout.write(`${JSON.stringify({ url: await app.getUrl() })}\n`);
  };
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
