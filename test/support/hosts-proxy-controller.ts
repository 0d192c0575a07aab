import { Controller, Get, Param, ServiceUnavailableException } from '@nestjs/common';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';

/**
 * Proxies to the host a request names: one breaker per host under `hosts`.
 * `GET /proxy/<host>/fail` answers 503, `GET /proxy/<host>/<anything else>` 200.
 */
@Controller('proxy')
export class HostsProxyController {
  @CircuitBreaker('hosts', { key: (host: string) => host })
  @Get(':host/:outcome')
  fetch(@Param('host') host: string, @Param('outcome') outcome: string): string {
    if (outcome === 'fail') throw new ServiceUnavailableException(`${host} is down`);
    return `proxied to ${host}`;
  }
}
