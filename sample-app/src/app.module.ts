import { HttpModule } from '@nestjs/axios';
import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { ResilienceModule } from 'nest-resilience';
import { BreakerHealthIndicator } from 'nest-resilience/terminus';
import { DownstreamClient } from './downstream/downstream.client';
import { DownstreamController } from './downstream/downstream.controller';
import { DownstreamModeState } from './downstream/downstream-mode';
import { HealthController } from './health/health.controller';
import { PartnerQuotesController } from './partners/partner-quotes.controller';
import { PoliciesController } from './policies/policies.controller';
import { QuoteService } from './quotes/quote.service';
import { QuotesController } from './quotes/quotes.controller';
import { SampleConfig } from './sample-config';
import { SampleConfigModule } from './sample-config.module';

/** The admin API's route prefix. */
export const ADMIN_PATH = '/resilience';

@Module({})
export class AppModule {
  /** The app, configured by `config` (main.ts reads it from the environment). */
  static forRoot(config: SampleConfig): DynamicModule {
    const configModule = SampleConfigModule.forRoot(config);
    return {
      module: AppModule,
      imports: [
        configModule,
        TerminusModule,
        HttpModule,
        PrometheusModule.register(),
        ResilienceModule.forRootAsync({
          imports: [configModule],
          inject: [SampleConfig],
          useFactory: (settings: SampleConfig) => ({
            defaults: {
              openDuration: settings.openDurationMs,
              failureThreshold: settings.failureThreshold,
              timeout: settings.timeoutMs,
            },
            breakers: {
              downstream: { preset: 'http' },
              // No fallback behind it, so the instance is not ready while it is open.
              // It also sheds calls (503, code LOAD_SHED) while the app is overloaded: event loop over
              // 85% busy and more than 100 calls in flight through it (docs/load-shedding.md).
              'downstream-direct': { preset: 'http', critical: true, loadShed: {} },
              'downstream-retried': { preset: 'http' },
            },
            policies: {
              // Each attempt through the breaker (its timeout per attempt), all of them within 4 timeouts.
              quotes: {
                breaker: 'downstream-retried',
                retry: { attempts: 2, delay: 100 },
                timeout: settings.timeoutMs * 4,
              },
            },
            store: settings.store,
            // Every HttpService request goes through the breaker of its origin: no code per call.
            http: { axios: true },
          }),
          // Static, unlike the options above: Nest mounts controllers before factories run.
          admin: { path: ADMIN_PATH, token: config.adminToken },
        }),
      ],
      controllers: [
        DownstreamController,
        QuotesController,
        PartnerQuotesController,
        PoliciesController,
        HealthController,
      ],
      providers: [DownstreamModeState, DownstreamClient, QuoteService, BreakerHealthIndicator],
    };
  }
}
