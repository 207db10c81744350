import { Global, Logger, Module } from '@nestjs/common';

import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { resolveJwtSecret } from './jwt-secret.js';
import { JWT_SECRET, UserAuthGuard } from './user-auth.guard.js';

@Global()
@Module({
  providers: [
    {
      provide: JWT_SECRET,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => {
        const { secret, generated } = await resolveJwtSecret(config);
        if (generated) {
          new Logger('Auth').warn(
            'JWT_SECRET is not set; using a development secret kept in DATA_DIR. ' +
              'Mint a user token with: npm run token -- <userId> [--admin]',
          );
        }

        return secret;
      },
    },
    UserAuthGuard,
  ],
  exports: [JWT_SECRET, UserAuthGuard],
})
export class AuthModule {}
