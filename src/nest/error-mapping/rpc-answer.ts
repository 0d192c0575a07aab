import type { RpcException } from '@nestjs/microservices';
import type { ErrorAnswer } from './error-answers';

let Exception: typeof RpcException | undefined;

/**
 * `answer` as the `RpcException` a microservice handler (`@MessagePattern`, `@EventPattern`)
 * throws: its error, `{ code, message, breaker | policy, retryAfterMs | timeoutMs }`, is what
 * the `ClientProxy` receives, on every transport. Nest's RPC exception handling answers any
 * other error "Internal server error".
 */
export function rpcExceptionFor(answer: ErrorAnswer): RpcException {
  // Loaded on the first RPC rejection: an app with an RPC context has @nestjs/microservices.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, never loaded by HTTP-only apps
  Exception ??= (require('@nestjs/microservices') as typeof import('@nestjs/microservices')).RpcException;
  return new Exception({ ...answer.details });
}
