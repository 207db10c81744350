import { Module } from '@nestjs/common';

import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeysController } from './api-keys.controller.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';
import { FailedAttemptLimiter } from './failed-attempt-limiter.js';
import { KeyChangeListener } from './key-change-listener.js';
import { KeyUsageRecorder } from './key-usage-recorder.js';
import { KeySmith } from './keysmith.js';
import { VerifiedKeyCache } from './verified-key-cache.js';

/**
 * The API key lifecycle under `/api/api-keys`, and the guard other modules use to protect
 * their routes. Import this module, then put `@RequirePermission(...)` on a route.
 *
 * @example
 * ```ts
 * @Module({ imports: [ApiKeysModule], controllers: [GraphsController] })
 * export class GraphsModule {}
 * ```
 */
@Module({
  controllers: [ApiKeysController],
  providers: [
    ApiKeysService,
    ApiKeysRepository,
    KeySmith,
    ApiKeyGuard,
    VerifiedKeyCache,
    KeyChangeListener,
    KeyUsageRecorder,
    FailedAttemptLimiter,
  ],
  exports: [ApiKeysService, ApiKeyGuard, FailedAttemptLimiter],
})
export class ApiKeysModule {}
