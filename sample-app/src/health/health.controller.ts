import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, MemoryHealthIndicator } from '@nestjs/terminus';
import { BreakerHealthIndicator } from 'nest-resilience/terminus';

/** Above this heap size the process is unhealthy and should be restarted. */
const HEAP_LIMIT_BYTES = 512 * 1024 * 1024;

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly memory: MemoryHealthIndicator,
    private readonly breakers: BreakerHealthIndicator,
  ) {}

  /** Liveness: in-process only. A dependency that is down must never get the app restarted. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.memory.checkHeap('memory_heap', HEAP_LIMIT_BYTES)]);
  }

  /**
   * Readiness: the breakers. `degraded` (200) while a breaker is not closed, `down` (503)
   * while a critical one is open, which takes the instance out of the load balancer.
   */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.breakers.isHealthy()]);
  }
}
