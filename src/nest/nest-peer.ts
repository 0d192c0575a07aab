import { isMissingPeer } from '../core/optional-peer';
import { NEST_PEER_MISSING } from './resilience.messages';

/** Nest's optional packages, loaded only by apps that use them (gateways, microservices). */
export type NestPeer = '@nestjs/websockets' | '@nestjs/microservices';

/**
 * A Nest package that an app reaching this code has (an app with a gateway has
 * `@nestjs/websockets`). Required by its literal name inside a try, as `requireOptional()`
 * does, so that bundlers build apps without it.
 * @throws {Error} naming the package, should it be missing all the same.
 */
export function requireNestPeer<T>(name: NestPeer): T {
  try {
    /* eslint-disable @typescript-eslint/no-require-imports -- a static import would make the optional peer mandatory */
    return (
      name === '@nestjs/websockets' ? require('@nestjs/websockets') : require('@nestjs/microservices')
    ) as T;
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch (error) {
    if (isMissingPeer(error, name)) throw new Error(NEST_PEER_MISSING(name), { cause: error });
    throw error;
  }
}
