import { Controller, Get, Param } from '@nestjs/common';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';

/**
 * Per-tenant breakers under `legacyTenants`: what another service on the same store, or an older
 * version of this app, declared. A test's app declares the name by importing this controller.
 */
@Controller('legacy')
export class LegacyTenantsController {
  @CircuitBreaker('legacyTenants', { key: (tenant: string) => tenant })
  @Get(':tenant')
  get(@Param('tenant') tenant: string): string {
    return tenant;
  }
}

/** Per-tenant breakers declared by the decorator alone: `tenants` is not configured. */
@Controller('tenants')
export class TenantsController {
  @CircuitBreaker('tenants', { key: (tenant: string) => tenant })
  @Get(':tenant')
  get(@Param('tenant') tenant: string): string {
    return tenant;
  }
}
