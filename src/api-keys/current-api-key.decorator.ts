import { createParamDecorator, ExecutionContext } from '@nestjs/common';

import type { RequestWithApiKey } from './api-key.guard.js';

/**
 * The `ApiKeyPrincipal` of a request admitted by `@RequirePermission(...)`.
 *
 * @example
 * ```ts
 * @Get('me') @RequirePermission('IDENTITY')
 * me(@CurrentApiKey() key: ApiKeyPrincipal) { return key; }
 * ```
 */
export const CurrentApiKey = createParamDecorator(
  (_data: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<RequestWithApiKey>().apiKey,
);
