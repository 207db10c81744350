import { applyDecorators, UseGuards } from '@nestjs/common';
import {
  ApiExtension,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

import { ApiErrorDto } from '../common/api-error.dto.js';
import type { APIKeyPermission } from '../generated/prisma/enums.js';
import { ApiKeyGuard, RequiredPermissions } from './api-key.guard.js';

/** Name of the OpenAPI security scheme for API keys. */
export const API_KEY_SECURITY = 'api-key';

/**
 * Protects a route (or every route of a controller) with an API key that holds all of
 * `permissions`. It applies `ApiKeyGuard`, records the permissions, and documents the
 * security scheme, the permissions and the 401/403/429 answers in OpenAPI.
 *
 * @example
 * ```ts
 * @Controller('graphs')
 * export class GraphsController {
 *   @Get(':id')
 *   @RequirePermission('READ_GRAPH')
 *   find(@Param('id') id: string, @CurrentApiKey() key: ApiKeyPrincipal) {}
 * }
 * ```
 */
export function RequirePermission(...permissions: APIKeyPermission[]) {
  const listed = permissions.length > 0 ? permissions.join(', ') : 'none';

  return applyDecorators(
    RequiredPermissions(permissions),
    UseGuards(ApiKeyGuard),
    ApiSecurity(API_KEY_SECURITY),
    ApiExtension('x-required-permissions', permissions),
    ApiUnauthorizedResponse({
      type: ApiErrorDto,
      description: 'The API key is missing, unknown or not usable',
    }),
    ApiForbiddenResponse({
      type: ApiErrorDto,
      description: `The API key lacks a permission; needs: ${listed}`,
    }),
    ApiTooManyRequestsResponse({
      type: ApiErrorDto,
      description: 'Too many failed attempts; see Retry-After',
    }),
  );
}
