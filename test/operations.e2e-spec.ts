import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';

import { createApp } from '../src/bootstrap.js';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { LogCapture, newUser, startTestApp, TestApp, testConfig } from './support/app.js';
import { removeDir, tempDataDir } from './support/db.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('operations endpoints', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  describe('health', () => {
    it('answers 200 on /health while the process is up', async () => {
      const response = await t.http.get('/health').expect(200);

      expect(response.body).toMatchObject({ status: 'ok' });
    });

    it('answers 200 on /health/ready while the database answers', async () => {
      const response = await t.http.get('/health/ready').expect(200);

      expect(response.body).toMatchObject({
        status: 'ok',
        info: { database: { status: 'up' } },
      });
    });
  });

  describe('API documentation', () => {
    it('serves Swagger UI on /docs', async () => {
      const response = await t.http.get('/docs').expect(200);

      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.text).toContain('swagger-ui');
    });

    it('serves an OpenAPI 3 document on /docs-json', async () => {
      const response = await t.http.get('/docs-json').expect(200);

      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body.openapi).toMatch(/^3\./);
      expect(response.body.info).toMatchObject({ title: expect.any(String) });
    });

    it('declares the jwt and api-key security schemes', async () => {
      const response = await t.http.get('/docs-json').expect(200);
      const schemes = response.body.components.securitySchemes;

      expect(schemes.jwt).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(schemes['api-key']).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    });

    it('documents the permissions /external/v1/me needs', async () => {
      const response = await t.http.get('/docs-json').expect(200);
      const operation = response.body.paths['/external/v1/me']?.get;

      expect(operation).toBeDefined();
      expect(operation['x-required-permissions']).toEqual(['IDENTITY']);
      expect(operation.security).toEqual([{ 'api-key': [] }]);
    });
  });

  describe('metrics', () => {
    it('exposes request and key verification counters in Prometheus text', async () => {
      const user = await newUser(t.http);
      const { plainTextKey } = await user.createKey();
      await t.http.get('/external/v1/me').set('X-API-Key', plainTextKey).expect(200);

      const response = await t.http.get('/metrics').expect(200);

      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      expect(response.text).toContain('# TYPE http_requests_total counter');
      expect(response.text).toMatch(
        /^http_requests_total\{[^}]*route="\/external\/v1\/me"[^}]*status="200"[^}]*\} [1-9]/m,
      );
      expect(response.text).toMatch(/^api_key_verifications_total\{outcome="accepted"\} [1-9]/m);
    });
  });

  describe('request bodies', () => {
    it('answers 413 in Nest error shape to a body over 100 kB', async () => {
      const user = await newUser(t.http);
      const body = { name: 'big', permissions: ['IDENTITY'], description: 'x'.repeat(110_000) };

      const response = await t.http.post('/api/api-keys').set(user.auth).send(body).expect(413);

      expect(response.body).toEqual({
        statusCode: 413,
        message: expect.any(String),
        error: 'Payload Too Large',
      });
    });

    it('accepts a body just under 100 kB as far as the size goes', async () => {
      const user = await newUser(t.http);
      const body = { name: 'big', permissions: ['IDENTITY'], description: 'x'.repeat(90_000) };

      const response = await t.http.post('/api/api-keys').set(user.auth).send(body).expect(400);

      expect(JSON.stringify(response.body.message)).toContain('description');
    });
  });

  describe('request ids', () => {
    it('echoes a well-formed X-Request-Id', async () => {
      const response = await t.http
        .get('/health')
        .set('X-Request-Id', 'trace-42.abc_DEF')
        .expect(200);

      expect(response.headers['x-request-id']).toBe('trace-42.abc_DEF');
    });

    it('generates an X-Request-Id when none is given', async () => {
      const first = await t.http.get('/health').expect(200);
      const second = await t.http.get('/health').expect(200);

      expect(first.headers['x-request-id']).toMatch(UUID);
      expect(second.headers['x-request-id']).toMatch(UUID);
      expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
    });

    it('replaces a malformed X-Request-Id by a generated one', async () => {
      const response = await t.http
        .get('/health')
        .set('X-Request-Id', 'not a valid id <script>')
        .expect(200);

      expect(response.headers['x-request-id']).toMatch(UUID);
    });
  });

  describe('security headers', () => {
    it('sends helmet headers', async () => {
      const response = await t.http.get('/health').expect(200);

      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(response.headers['content-security-policy']).toBeDefined();
      expect(response.headers['x-powered-by']).toBeUndefined();
    });

    it('sends no CORS header by default', async () => {
      const response = await t.http
        .get('/health')
        .set('Origin', 'https://app.example.com')
        .expect(200);

      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    });
  });
});

describe('an app started with CORS_ORIGINS', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('allows a listed origin', async () => {
    const response = await t.http
      .get('/health')
      .set('Origin', 'https://admin.example.com')
      .expect(200);

    expect(response.headers['access-control-allow-origin']).toBe('https://admin.example.com');
  });

  it('answers a preflight from a listed origin', async () => {
    const response = await t.http
      .options('/api/api-keys')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type');

    expect(response.status).toBeLessThan(300);
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('sends no CORS header to an origin it does not list', async () => {
    const response = await t.http
      .get('/health')
      .set('Origin', 'https://evil.example.com')
      .expect(200);

    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('readiness when the database stops answering', () => {
  let dataDir: string;
  let stopPostgres: (() => Promise<void>) | undefined;
  let app: NestExpressApplication | undefined;

  beforeAll(async () => {
    dataDir = await tempDataDir();
    const postgres = await startEmbeddedPostgres(dataDir);
    stopPostgres = postgres.stop;
    app = await createApp({
      config: testConfig({ DATABASE_URL: postgres.url }),
      logDestination: new LogCapture(),
    });
    await app.listen(0, '127.0.0.1');
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await stopPostgres?.();
    await removeDir(dataDir);
  }, 60_000);

  it('answers 503 on /health/ready once the database is stopped, and 200 on /health', async () => {
    const http = request(app!.getHttpServer());
    await http.get('/health/ready').expect(200);

    await stopPostgres!();
    stopPostgres = undefined;
    const response = await http.get('/health/ready').expect(503);

    expect(response.body).toMatchObject({
      status: 'error',
      error: { database: { status: 'down' } },
    });
    await http.get('/health').expect(200);
  }, 30_000);
});
