import { ServiceUnavailableException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo } from 'node:net';

/**
 * The simulated downstream is served by this same app, so its URL is the app's own address,
 * known once it listens (whatever `PORT` was, 0 included).
 */
export function downstreamUrl(adapterHost: HttpAdapterHost): string {
  const address = adapterHost.httpAdapter.getHttpServer().address() as AddressInfo | null;
  if (address === null) throw new ServiceUnavailableException('The app is not listening yet');
  return `http://127.0.0.1:${address.port}`;
}
