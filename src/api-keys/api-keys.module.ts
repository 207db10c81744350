import { Module } from '@nestjs/common';

import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeysController } from './api-keys.controller.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';
import { KeySmith } from './keysmith.js';

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
  providers: [ApiKeysService, ApiKeysRepository, KeySmith, ApiKeyGuard],
  exports: [ApiKeysService, ApiKeyGuard],
})
export class ApiKeysModule {}
