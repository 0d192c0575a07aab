import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { BreakerHealthIndicator } from 'nest-resilience/terminus';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: BreakerHealthIndicator,
  ) {}

  /** Liveness: in-process only, so an open breaker never gets the pod restarted. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Readiness: the breakers decide whether the pod takes traffic. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.breakers.isHealthy()]);
  }
}

/** What an app adds to serve `/health/live` and `/health/ready` (the breakers' indicator). */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [BreakerHealthIndicator],
})
export class HealthModule {}
