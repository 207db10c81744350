import { DynamicModule, Module } from '@nestjs/common';
import type { DestinationStream } from 'pino';

import { ApiKeysModule } from './api-keys/api-keys.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CommonModule } from './common/common.module.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { ExternalModule } from './external/external.module.js';
import { HealthModule } from './health/health.module.js';
import { LegacyKeysModule } from './legacy-keys/legacy-keys.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';

@Module({})
export class AppModule {
  static register(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        CommonModule,
        LoggingModule.forRoot(config, logDestination),
        DatabaseModule,
        AuthModule,
        MetricsModule,
        HealthModule,
        ApiKeysModule,
        ExternalModule,
        LegacyKeysModule,
      ],
    };
  }
}
