import { createParamDecorator, ExecutionContext } from '@nestjs/common';

import type { RequestWithUser } from './user-auth.guard.js';

/** The `User` of a request admitted by `UserAuthGuard`. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<RequestWithUser>().user,
);
