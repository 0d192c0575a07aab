import { type DynamicModule, Module } from '@nestjs/common';
import { SampleConfig } from './sample-config';

/** Provides the {@link SampleConfig} the app was started with, like `ConfigModule` would. */
@Module({})
export class SampleConfigModule {
  static forRoot(config: SampleConfig): DynamicModule {
    return {
      module: SampleConfigModule,
      providers: [{ provide: SampleConfig, useValue: config }],
      exports: [SampleConfig],
    };
  }
}
