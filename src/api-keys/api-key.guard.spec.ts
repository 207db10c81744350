import { jest } from '@jest/globals';
import {
  ExecutionContext,
  ForbiddenException,
  HttpException,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { Request, Response } from 'express';

import { loadConfig } from '../config/app-config.js';
import type { APIKeyPermission } from '../generated/prisma/enums.js';
import { MetricsService, VerificationOutcome } from '../metrics/metrics.service.js';
import { ApiKeyGuard, RequestWithApiKey } from './api-key.guard.js';
import { ApiKeyPrincipal, ApiKeysService } from './api-keys.service.js';
import { FailedAttemptLimiter } from './failed-attempt-limiter.js';
import { RequirePermission } from './require-permission.decorator.js';

const KEY = 'agpt_valid0000000000000000000000000000000000000';
const principal = (permissions: APIKeyPermission[]): ApiKeyPrincipal => ({
  keyId: '5b0c4f0e-9a55-4c3e-8a44-3f1c2f6a7d10',
  userId: 'u-42',
  permissions,
});

/**
 * Answers `verify` from a table of known keys and remembers what it was asked; answers
 * `verifyFromCache` only for the keys a test marks as verified moments ago.
 */
class FakeApiKeysService implements Pick<ApiKeysService, 'verify' | 'verifyFromCache'> {
  readonly presented: string[] = [];
  readonly recentlyVerified = new Set<string>();

  constructor(private readonly known: Record<string, ApiKeyPrincipal> = {}) {}

  async verify(presented: string): Promise<ApiKeyPrincipal | null> {
    this.presented.push(presented);

    return this.known[presented] ?? null;
  }

  verifyFromCache(presented: string): ApiKeyPrincipal | null {
    return this.recentlyVerified.has(presented) ? (this.known[presented] ?? null) : null;
  }
}

@RequirePermission('IDENTITY')
class GraphsController {
  @RequirePermission('READ_GRAPH')
  read() {}

  @RequirePermission('IDENTITY', 'WRITE_GRAPH')
  write() {}

  open() {}
}

class PublicController {
  open() {}

  @RequirePermission('READ_GRAPH', 'WRITE_GRAPH', 'EXECUTE_GRAPH')
  run() {}
}

function requestWith(
  headers: Record<string, string | string[]>,
  ip = '203.0.113.7',
): RequestWithApiKey {
  return { headers, ip } as unknown as RequestWithApiKey;
}

/** Keeps the headers the guard sets. */
class RecordingResponse {
  readonly headers: Record<string, string> = {};

  setHeader(name: string, value: string): this {
    this.headers[name.toLowerCase()] = value;

    return this;
  }
}

function contextFor(
  request: Request,
  controller: new () => object = PublicController,
  handler: string = 'open',
  response = new RecordingResponse(),
): ExecutionContext {
  const method = (controller.prototype as Record<string, () => void>)[handler];
  const args = [request, response as unknown as Response, () => undefined];

  return new ExecutionContextHost(args, controller, method);
}

describe('ApiKeyGuard', () => {
  let apiKeys: FakeApiKeysService;
  let metrics: MetricsService;
  let guard: ApiKeyGuard;
  let warned: jest.SpiedFunction<Logger['warn']>;

  function buildGuard(known: Record<string, ApiKeyPrincipal>, env: NodeJS.ProcessEnv = {}): void {
    apiKeys = new FakeApiKeysService(known);
    metrics = new MetricsService();
    const limiter = new FailedAttemptLimiter(loadConfig(env));
    const service = apiKeys as unknown as ApiKeysService;
    guard = new ApiKeyGuard(new Reflector(), service, metrics, limiter);
  }

  async function outcomes(): Promise<Partial<Record<VerificationOutcome, number>>> {
    const { values } = await metrics.keyVerifications.get();

    return Object.fromEntries(values.map(({ labels, value }) => [labels.outcome, value]));
  }

  async function refusal(context: ExecutionContext): Promise<HttpException> {
    const error = await guard.canActivate(context).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof HttpException)) throw new Error('the guard let the request through');

    return error;
  }

  beforeEach(() => {
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    buildGuard({ [KEY]: principal(['IDENTITY']) });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('finding the key', () => {
    it('takes the key from the X-API-Key header', async () => {
      await expect(guard.canActivate(contextFor(requestWith({ 'x-api-key': KEY })))).resolves.toBe(
        true,
      );
      expect(apiKeys.presented).toEqual([KEY]);
    });

    it('takes the key from an Authorization Bearer header', async () => {
      const request = requestWith({ authorization: `Bearer ${KEY}` });

      await expect(guard.canActivate(contextFor(request))).resolves.toBe(true);
      expect(apiKeys.presented).toEqual([KEY]);
    });

    it('reads the Bearer scheme in any case and ignores surrounding spaces', async () => {
      const request = requestWith({ authorization: `  bearer   ${KEY} ` });

      await expect(guard.canActivate(contextFor(request))).resolves.toBe(true);
      expect(apiKeys.presented).toEqual([KEY]);
    });

    it.each([
      ['no header at all', {}],
      ['a blank X-API-Key', { 'x-api-key': '   ' }],
      ['another Authorization scheme', { authorization: `Basic ${KEY}` }],
      ['a Bearer scheme without a value', { authorization: 'Bearer ' }],
    ])('answers 401 "Missing API key" for %s', async (_case, headers) => {
      const error = await refusal(contextFor(requestWith(headers)));

      expect(error).toBeInstanceOf(UnauthorizedException);
      expect(error.message).toBe('Missing API key');
      expect(apiKeys.presented).toEqual([]);
      expect(await outcomes()).toEqual({ missing: 1 });
    });
  });

  describe('refusing an unusable key', () => {
    const unusable: [string, string][] = [
      ['unknown', 'agpt_unknown000000000000000000000000000000000000'],
      ['wrong', 'agpt_valid0000000000000000000000000000000000001'],
      ['suspended', 'agpt_suspended0000000000000000000000000000000000'],
      ['revoked', 'agpt_revoked000000000000000000000000000000000000'],
      ['expired', 'agpt_expired000000000000000000000000000000000000'],
      ['malformed', 'not a key'],
    ];

    it('answers 401 with one and the same message for every kind of failure', async () => {
      const messages = new Set<string>();
      for (const [, key] of unusable) {
        const error = await refusal(contextFor(requestWith({ 'x-api-key': key })));

        expect(error).toBeInstanceOf(UnauthorizedException);
        messages.add(error.message);
      }

      expect([...messages]).toEqual(['Invalid API key']);
      expect(await outcomes()).toEqual({ invalid: unusable.length });
    });

    it.each(unusable)('does not echo the %s key in the answer or the log', async (_case, key) => {
      const request = requestWith({ 'x-api-key': key });

      const error = await refusal(contextFor(request));

      expect(JSON.stringify(error.getResponse())).not.toContain(key);
      expect(warned).toHaveBeenCalledTimes(1);
      expect(warned.mock.calls.flat().join(' ')).not.toContain(key);
      expect(request.apiKey).toBeUndefined();
    });
  });

  describe('permissions', () => {
    it('answers 403 naming each permission the key lacks', async () => {
      const context = contextFor(requestWith({ 'x-api-key': KEY }), PublicController, 'run');

      const error = await refusal(context);

      expect(error).toBeInstanceOf(ForbiddenException);
      expect(error.message).toContain('READ_GRAPH');
      expect(error.message).toContain('WRITE_GRAPH');
      expect(error.message).toContain('EXECUTE_GRAPH');
      expect(error.message).not.toContain('IDENTITY');
      expect(await outcomes()).toEqual({ forbidden: 1 });
    });

    it('names only the permissions that are missing', async () => {
      buildGuard({ [KEY]: principal(['READ_GRAPH', 'EXECUTE_GRAPH']) });
      const context = contextFor(requestWith({ 'x-api-key': KEY }), PublicController, 'run');

      const error = await refusal(context);

      expect(error).toBeInstanceOf(ForbiddenException);
      expect(error.message).toContain('WRITE_GRAPH');
      expect(error.message).not.toContain('READ_GRAPH');
      expect(error.message).not.toContain('EXECUTE_GRAPH');
    });

    it.each([
      ['the controller', ['READ_GRAPH'], 'IDENTITY'],
      ['the handler', ['IDENTITY'], 'READ_GRAPH'],
    ] as const)(
      'combines controller and handler permissions: refuses a key without those of %s',
      async (_case, held, missing) => {
        buildGuard({ [KEY]: principal([...held]) });
        const context = contextFor(requestWith({ 'x-api-key': KEY }), GraphsController, 'read');

        const error = await refusal(context);

        expect(error).toBeInstanceOf(ForbiddenException);
        expect(error.message).toContain(missing);
      },
    );

    it('admits a key holding the permissions of both controller and handler', async () => {
      buildGuard({ [KEY]: principal(['IDENTITY', 'READ_GRAPH']) });
      const context = contextFor(requestWith({ 'x-api-key': KEY }), GraphsController, 'read');

      await expect(guard.canActivate(context)).resolves.toBe(true);
    });

    it('asks for a permission named on both controller and handler only once', async () => {
      buildGuard({ [KEY]: principal(['READ_GRAPH']) });
      const context = contextFor(requestWith({ 'x-api-key': KEY }), GraphsController, 'write');

      const error = await refusal(context);

      expect(error.message.match(/IDENTITY/g)).toHaveLength(1);
      expect(error.message).toContain('WRITE_GRAPH');
    });

    it('applies the controller permissions to an undecorated handler', async () => {
      buildGuard({ [KEY]: principal(['READ_GRAPH']) });
      const context = contextFor(requestWith({ 'x-api-key': KEY }), GraphsController, 'open');

      const error = await refusal(context);

      expect(error).toBeInstanceOf(ForbiddenException);
      expect(error.message).toContain('IDENTITY');
    });

    it('admits any valid key on a route that requires no permission', async () => {
      buildGuard({ [KEY]: principal([]) });
      const context = contextFor(requestWith({ 'x-api-key': KEY }), PublicController, 'open');

      await expect(guard.canActivate(context)).resolves.toBe(true);
    });

    it('does not attach the principal to a refused request', async () => {
      const request = requestWith({ 'x-api-key': KEY });

      await refusal(contextFor(request, PublicController, 'run'));

      expect(request.apiKey).toBeUndefined();
    });
  });

  describe('repeated failures', () => {
    const LIMITS = {
      AUTH_FAILURES_PER_MINUTE_PER_KEY_HEAD: '2',
      AUTH_FAILURES_PER_MINUTE_PER_ADDRESS: '3',
    };
    const guess = (index: number) => `agpt_guess${index}`.padEnd(48, '0');

    async function fail(key: string, ip?: string): Promise<void> {
      await refusal(contextFor(requestWith({ 'x-api-key': key }, ip)));
    }

    beforeEach(() => {
      buildGuard({ [KEY]: principal(['IDENTITY']) }, LIMITS);
    });

    it('answer 429 with Retry-After for a key head, before verifying the key', async () => {
      await fail(guess(1));
      await fail(guess(1));
      const response = new RecordingResponse();
      const context = contextFor(
        requestWith({ 'x-api-key': guess(1) }),
        PublicController,
        'open',
        response,
      );

      const error = await refusal(context);

      expect(error.getStatus()).toBe(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(response.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(apiKeys.presented).toHaveLength(2);
      expect(await outcomes()).toEqual({ invalid: 2, limited: 1 });
    });

    it('answer 429 to an address that tried too many different keys', async () => {
      for (const index of [1, 2, 3]) await fail(guess(index));

      const error = await refusal(contextFor(requestWith({ 'x-api-key': KEY })));

      expect(error.getStatus()).toBe(429);
      expect(apiKeys.presented).toHaveLength(3);
    });

    it('do not hold back a valid key with another head from the same address', async () => {
      await fail(guess(1));
      await fail(guess(1));

      await expect(guard.canActivate(contextFor(requestWith({ 'x-api-key': KEY })))).resolves.toBe(
        true,
      );
    });

    it('do not hold back another address', async () => {
      for (const index of [1, 2, 3]) await fail(guess(index), '198.51.100.1');

      const context = contextFor(requestWith({ 'x-api-key': KEY }, '198.51.100.2'));

      await expect(guard.canActivate(context)).resolves.toBe(true);
    });

    it('do not hold back a key verified moments ago, which costs no hashing', async () => {
      await fail(KEY.slice(0, -1) + '1');
      await fail(KEY.slice(0, -1) + '2');
      apiKeys.recentlyVerified.add(KEY);

      await expect(guard.canActivate(contextFor(requestWith({ 'x-api-key': KEY })))).resolves.toBe(
        true,
      );
    });

    it('do not count a valid key as a failure', async () => {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await guard.canActivate(contextFor(requestWith({ 'x-api-key': KEY })));
      }

      const error = await refusal(contextFor(requestWith({ 'x-api-key': guess(1) })));

      expect(error.getStatus()).toBe(401);
    });

    it('do not count refused permissions', async () => {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await refusal(contextFor(requestWith({ 'x-api-key': KEY }), PublicController, 'run'));
      }

      await expect(guard.canActivate(contextFor(requestWith({ 'x-api-key': KEY })))).resolves.toBe(
        true,
      );
    });
  });

  describe('an admitted request', () => {
    it('carries the principal of its key', async () => {
      const request = requestWith({ authorization: `Bearer ${KEY}` });

      await guard.canActivate(contextFor(request, GraphsController, 'open'));

      expect(request.apiKey).toEqual(principal(['IDENTITY']));
    });

    it('is counted as accepted', async () => {
      await guard.canActivate(contextFor(requestWith({ 'x-api-key': KEY })));

      expect(await outcomes()).toEqual({ accepted: 1 });
    });
  });
});
