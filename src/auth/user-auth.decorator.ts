import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { ApiErrorDto } from '../common/api-error.dto.js';
import { AdminOnly, UserAuthGuard } from './user-auth.guard.js';

/** Name of the OpenAPI security scheme for user JWTs. */
export const JWT_SECURITY = 'jwt';

/** Requires a user JWT (`Authorization: Bearer <JWT>`), and documents it. */
export function UserAuth() {
  return applyDecorators(
    UseGuards(UserAuthGuard),
    ApiBearerAuth(JWT_SECURITY),
    ApiUnauthorizedResponse({
      type: ApiErrorDto,
      description: 'Missing, malformed, wrongly signed or expired JWT',
    }),
  );
}

/** Requires a user JWT with `role: "admin"`, and documents it. */
export function AdminAuth() {
  return applyDecorators(
    UserAuth(),
    AdminOnly(),
    ApiForbiddenResponse({ type: ApiErrorDto, description: 'The user is not an admin' }),
  );
}
