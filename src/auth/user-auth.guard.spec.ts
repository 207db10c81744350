import { ExecutionContext, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { JWTPayload, SignJWT } from 'jose';

import { AdminOnly, RequestWithUser, UserAuthGuard } from './user-auth.guard.js';

const encoder = new TextEncoder();
const SECRET = encoder.encode('a-test-secret-of-at-least-32-bytes!!');
const OTHER_SECRET = encoder.encode('another-secret-of-at-least-32-bytes!');

const OTHER = { secret: OTHER_SECRET };
const HS384 = { alg: 'HS384' };
// An absolute `exp` an hour in the past; jose allows no clock skew by default.
const EXPIRED = { expiresIn: Math.floor(Date.now() / 1000) - 3600 };

class KeysController {
  list() {}

  @AdminOnly()
  importLegacy() {}
}

@AdminOnly()
class AdminController {
  report() {}
}

function sign(
  claims: JWTPayload,
  { secret = SECRET, alg = 'HS256', expiresIn = '5m' as string | number } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(secret);
}

function unsigned(claims: JWTPayload): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');

  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}

function requestWith(authorization?: string): RequestWithUser {
  const headers = authorization === undefined ? {} : { authorization };

  return { headers } as unknown as RequestWithUser;
}

function contextFor(
  request: RequestWithUser,
  controller: new () => object = KeysController,
  handler: string = 'list',
): ExecutionContext {
  const method = (controller.prototype as Record<string, () => void>)[handler];

  return new ExecutionContextHost([request, {}, () => undefined], controller, method);
}

describe('UserAuthGuard', () => {
  const guard = new UserAuthGuard(SECRET, new Reflector());

  describe('a valid HS256 token', () => {
    it('admits the request as the user named by sub', async () => {
      const request = requestWith(`Bearer ${await sign({ sub: 'u-42' })}`);

      await expect(guard.canActivate(contextFor(request))).resolves.toBe(true);
      expect(request.user).toEqual({ id: 'u-42', admin: false });
    });

    it('makes the caller an admin when role is "admin"', async () => {
      const request = requestWith(`Bearer ${await sign({ sub: 'u-1', role: 'admin' })}`);

      await guard.canActivate(contextFor(request));

      expect(request.user).toEqual({ id: 'u-1', admin: true });
    });

    it.each(['user', 'Admin', 'administrator'])(
      'does not make role "%s" an admin',
      async (role) => {
        const request = requestWith(`Bearer ${await sign({ sub: 'u-42', role })}`);

        await guard.canActivate(contextFor(request));

        expect(request.user?.admin).toBe(false);
      },
    );

    it('reads the Bearer scheme in any case', async () => {
      const request = requestWith(`bearer ${await sign({ sub: 'u-42' })}`);

      await expect(guard.canActivate(contextFor(request))).resolves.toBe(true);
    });
  });

  describe('answers 401', () => {
    const rejected: [string, () => Promise<string | undefined>][] = [
      ['a missing Authorization header', async () => undefined],
      ['an empty Authorization header', async () => ''],
      ['another scheme', async () => `Basic ${await sign({ sub: 'u-42' })}`],
      ['a Bearer header without a token', async () => 'Bearer'],
      ['a malformed token', async () => 'Bearer not.a.jwt'],
      ['a token that is not a JWT at all', async () => 'Bearer abc'],
      ['a wrong signature', async () => `Bearer ${await sign({ sub: 'u-42' }, OTHER)}`],
      ['an expired token', async () => `Bearer ${await sign({ sub: 'u-42' }, EXPIRED)}`],
      ['a token with alg none', async () => `Bearer ${unsigned({ sub: 'u-42', role: 'admin' })}`],
      ['a token signed with HS384', async () => `Bearer ${await sign({ sub: 'u-42' }, HS384)}`],
      ['a token without sub', async () => `Bearer ${await sign({ role: 'admin' })}`],
      ['a token with an empty sub', async () => `Bearer ${await sign({ sub: '' })}`],
    ];

    it.each(rejected)('for %s', async (_case, header) => {
      const request = requestWith(await header());

      await expect(guard.canActivate(contextFor(request))).rejects.toThrow(UnauthorizedException);
      expect(request.user).toBeUndefined();
    });

    it('without echoing the token', async () => {
      const token = await sign({ sub: 'u-42' }, OTHER);

      const attempt = guard.canActivate(contextFor(requestWith(`Bearer ${token}`)));

      await expect(attempt).rejects.toThrow(
        expect.objectContaining({ message: expect.not.stringContaining(token) }),
      );
    });

    it('before the admin check on an admin-only route', async () => {
      const request = requestWith(`Bearer ${await sign({ sub: 'u-42' }, EXPIRED)}`);

      const attempt = guard.canActivate(contextFor(request, KeysController, 'importLegacy'));

      await expect(attempt).rejects.toThrow(UnauthorizedException);
    });
  });

  describe('an admin-only route', () => {
    it.each([
      ['handler', KeysController, 'importLegacy'],
      ['controller', AdminController, 'report'],
    ] as const)(
      'marked on the %s answers 403 to a user who is not an admin',
      async (_case, controller, handler) => {
        const request = requestWith(`Bearer ${await sign({ sub: 'u-42' })}`);

        const attempt = guard.canActivate(contextFor(request, controller, handler));

        await expect(attempt).rejects.toThrow(ForbiddenException);
        expect(request.user).toBeUndefined();
      },
    );

    it('admits an admin', async () => {
      const request = requestWith(`Bearer ${await sign({ sub: 'u-1', role: 'admin' })}`);

      const context = contextFor(request, KeysController, 'importLegacy');

      await expect(guard.canActivate(context)).resolves.toBe(true);
      expect(request.user).toEqual({ id: 'u-1', admin: true });
    });

    it('leaves other routes of the controller open to every user', async () => {
      const request = requestWith(`Bearer ${await sign({ sub: 'u-42' })}`);

      await expect(guard.canActivate(contextFor(request, KeysController, 'list'))).resolves.toBe(
        true,
      );
    });
  });
});
