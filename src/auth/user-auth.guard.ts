import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { errors, jwtVerify } from 'jose';

import { isStorableText } from '../common/validation.js';

export const JWT_SECRET = Symbol('JWT_SECRET');

const MAX_USER_ID_LENGTH = 200;

/** The caller of a management route, from the `sub` and `role` claims of the JWT. */
export interface User {
  id: string;
  admin: boolean;
}

export interface RequestWithUser extends Request {
  user?: User;
}

/** Routes marked with it also need `role: "admin"` in the token. */
export const AdminOnly = Reflector.createDecorator<boolean>({ transform: () => true });

/** Admits requests bearing a valid HS256 JWT whose `sub` names the user. */
@Injectable()
export class UserAuthGuard implements CanActivate {
  constructor(
    @Inject(JWT_SECRET) private readonly secret: Uint8Array,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithUser>();
    const user = await this.verify(bearerToken(request));
    const adminOnly = this.reflector.getAllAndOverride(AdminOnly, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (adminOnly && !user.admin) throw new ForbiddenException('This route is for admins only');
    request.user = user;

    return true;
  }

  private async verify(token: string): Promise<User> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: ['HS256'] });
      if (!isUsableUserId(payload.sub)) {
        throw new UnauthorizedException('The token has no usable subject (sub)');
      }

      return { id: payload.sub, admin: payload.role === 'admin' };
    } catch (error) {
      if (error instanceof UnauthorizedException) throw error;
      if (error instanceof errors.JWTExpired) throw new UnauthorizedException('The token expired');

      throw new UnauthorizedException('Invalid token');
    }
  }
}

/** A user id must be stored as text: 1 to 200 characters, none of them U+0000. */
function isUsableUserId(sub: unknown): sub is string {
  return (
    typeof sub === 'string' &&
    sub.length > 0 &&
    sub.length <= MAX_USER_ID_LENGTH &&
    isStorableText(sub)
  );
}

function bearerToken(request: Request): string {
  const [scheme, token] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() !== 'bearer' || !token) {
    throw new UnauthorizedException('Missing bearer token in the Authorization header');
  }

  return token;
}
