import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { Writable } from 'node:stream';

import type { NestExpressApplication } from '@nestjs/platform-express';
import { SignJWT } from 'jose';
import request from 'supertest';

import { createApp } from '../../src/bootstrap.js';
import { AppConfig, loadConfig } from '../../src/config/app-config.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

export function testConfig(overrides: NodeJS.ProcessEnv = {}): AppConfig {
  return loadConfig({
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'debug',
    // Tests that need the scheduled sweep turn it on.
    LEGACY_KEY_SWEEP_CRON: 'off',
    ...overrides,
  });
}

/**
 * Collects the JSON log lines an app writes, to assert on them, and appends them to the log of
 * the whole run, which the global teardown searches for secrets.
 */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (process.env.E2E_LOG_FILE) appendFileSync(process.env.E2E_LOG_FILE, chunk);
    done();
  }

  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestApp {
  app: NestExpressApplication;
  http: ReturnType<typeof request>;
  logs: LogCapture;
  close(): Promise<void>;
}

/** The application as `main.ts` builds it, on the test database, listening on loopback. */
export async function startTestApp(overrides: NodeJS.ProcessEnv = {}): Promise<TestApp> {
  const logs = new LogCapture();
  const app = await createApp({ config: testConfig(overrides), logDestination: logs });
  await app.listen(0, '127.0.0.1');
  const http = request(app.getHttpServer());

  return { app, http, logs, close: () => app.close() };
}

/** A user id no other test uses. */
export function newUserId(): string {
  return `user-${randomUUID()}`;
}

export interface TokenOptions {
  admin?: boolean;
  expiresInSeconds?: number;
  secret?: string;
}

export function tokenFor(userId: string, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);

  return new SignJWT(options.admin ? { role: 'admin' } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 600))
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

/** A fresh user with a token, and helpers to call the management API as them. */
export async function newUser(http: TestApp['http'], options: TokenOptions = {}) {
  const id = newUserId();
  const token = await tokenFor(id, options);
  const auth = { Authorization: `Bearer ${token}` };

  return {
    id,
    token,
    auth,
    createKey: async (body: Record<string, unknown> = {}) => {
      const response = await http
        .post('/api/api-keys')
        .set(auth)
        .send({ name: 'test key', permissions: ['IDENTITY'], ...body })
        .expect(201);

      return response.body as { apiKey: { id: string; head: string }; plainTextKey: string };
    },
  };
}

/** scrypt derivations an app has made so far, from its Prometheus text. */
export async function scryptDerivations(t: TestApp): Promise<number> {
  const response = await t.http.get('/metrics').expect(200);
  const match = /^api_key_scrypt_derivations_total (\d+)$/m.exec(response.text);
  if (!match) throw new Error('GET /metrics has no api_key_scrypt_derivations_total');

  return Number(match[1]);
}
