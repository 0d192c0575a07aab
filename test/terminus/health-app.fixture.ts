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

/** An app's health module as Terminus lays it out: the indicator beside `TerminusModule`. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [BreakerHealthIndicator],
})
export class HealthModule {}

/** The indicator's details when there are no breakers at all. */
export const NO_BREAKERS = {
  total: 0,
  closed: 0,
  open: 0,
  half_open: 0,
  forced_open: 0,
  disabled: 0,
  breakers: {},
  keys: {},
} as const;
