import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';

import type { APIKeyPermission } from '../generated/prisma/enums.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ApiKeyPrincipal, ApiKeysService } from './api-keys.service.js';
import { FailedAttemptLimiter } from './failed-attempt-limiter.js';
import { HEAD_LENGTH } from './keysmith.js';

/** The permissions a route needs; set by `@RequirePermission(...)`. */
export const RequiredPermissions = Reflector.createDecorator<APIKeyPermission[]>();

/** Requests that passed the guard carry the key's principal here. */
export interface RequestWithApiKey extends Request {
  apiKey?: ApiKeyPrincipal;
}

// One message for every unusable key, so the answer tells an attacker nothing.
const INVALID_KEY = 'Invalid API key';

/**
 * Admits a request that presents a usable API key (`X-API-Key: <key>` or
 * `Authorization: Bearer <key>`) holding every permission the route requires. Apply it
 * with `@RequirePermission(...)`. Subclass and override the protected methods to change
 * where keys come from or how they are checked.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class QueryKeyGuard extends ApiKeyGuard {
 *   protected override extractKey(request: Request) {
 *     return super.extractKey(request) ?? request.query.key?.toString();
 *   }
 * }
 * ```
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  protected readonly logger = new Logger(ApiKeyGuard.name);

  constructor(
    protected readonly reflector: Reflector,
    protected readonly apiKeys: ApiKeysService,
    protected readonly metrics: MetricsService,
    protected readonly limiter: FailedAttemptLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithApiKey>();
    const presented = this.extractKey(request);
    if (presented === undefined) {
      this.metrics.keyVerifications.inc({ outcome: 'missing' });
      throw new UnauthorizedException('Missing API key');
    }

    const response = context.switchToHttp().getResponse<Response>();
    const principal =
      this.apiKeys.verifyFromCache(presented) ??
      (await this.authenticateLimited(presented, request, response));
    if (!principal) {
      this.metrics.keyVerifications.inc({ outcome: 'invalid' });
      this.logger.warn(`Refused an unusable API key from ${this.clientAddress(request)}`);
      throw new UnauthorizedException(INVALID_KEY);
    }

    this.authorize(principal, this.requiredPermissions(context));
    this.metrics.keyVerifications.inc({ outcome: 'accepted' });
    request.apiKey = principal;

    return true;
  }

  /** The presented key, or undefined when the request carries none. */
  protected extractKey(request: Request): string | undefined {
    const header = request.headers['x-api-key'];
    const fromHeader = Array.isArray(header) ? header[0] : header;
    if (fromHeader !== undefined && fromHeader.trim() !== '') return fromHeader.trim();

    const [scheme, value] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
    if (scheme?.toLowerCase() === 'bearer' && value) return value;

    return undefined;
  }

  /** The address failed attempts are counted against; honours TRUST_PROXY via Express. */
  protected clientAddress(request: Request): string {
    return request.ip ?? request.socket.remoteAddress ?? 'unknown';
  }

  /**
   * Counts the attempt against the client's address and the key's head before any hashing,
   * answers 429 with Retry-After once either is over its limit, and gives the attempt back
   * when the key turns out valid.
   */
  protected async authenticateLimited(
    presented: string,
    request: Request,
    response: Response,
  ): Promise<ApiKeyPrincipal | null> {
    const address = this.clientAddress(request);
    const head = presented.slice(0, HEAD_LENGTH);
    const waitMs = await this.limiter.reserve(address, head);
    if (waitMs > 0) this.refuse(waitMs, response);

    let principal: ApiKeyPrincipal | null;
    try {
      principal = await this.authenticate(presented, request);
    } catch (error) {
      // The key was not found wrong (the database may be away): not a failed attempt.
      await this.limiter.release(address, head);
      throw error;
    }
    if (principal) await this.limiter.release(address, head);

    return principal;
  }

  private refuse(waitMs: number, response: Response): never {
    const seconds = Math.ceil(waitMs / 1000);
    this.metrics.keyVerifications.inc({ outcome: 'limited' });
    response.setHeader('Retry-After', String(seconds));
    const message = `Too many failed API key attempts; retry after ${seconds} seconds`;
    const status = HttpStatus.TOO_MANY_REQUESTS;
    throw new HttpException({ message, error: 'Too Many Requests', statusCode: status }, status);
  }

  /** Verifies a key that the cache did not know, at the cost of one derivation per candidate. */
  protected authenticate(presented: string, _request: Request): Promise<ApiKeyPrincipal | null> {
    return this.apiKeys.verify(presented);
  }

  /** Throws 403 naming each required permission the key lacks. */
  protected authorize(principal: ApiKeyPrincipal, required: APIKeyPermission[]): void {
    const missing = required.filter((permission) => !principal.permissions.includes(permission));
    if (missing.length === 0) return;

    this.metrics.keyVerifications.inc({ outcome: 'forbidden' });
    this.logger.warn(`API key ${principal.keyId} lacks ${missing.join(', ')}`);
    throw new ForbiddenException(`API key lacks required permissions: ${missing.join(', ')}`);
  }

  protected requiredPermissions(context: ExecutionContext): APIKeyPermission[] {
    const handler = this.reflector.get(RequiredPermissions, context.getHandler()) ?? [];
    const controller = this.reflector.get(RequiredPermissions, context.getClass()) ?? [];

    return [...new Set([...controller, ...handler])];
  }
}
