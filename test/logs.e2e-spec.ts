import { randomBytes } from 'node:crypto';

import { newUser, startTestApp, TestApp, tokenFor } from './support/app.js';
import { query } from './support/db.js';

interface LogLine {
  level: number;
  msg?: string;
  context?: string;
  req?: Record<string, unknown>;
  res?: { statusCode?: number };
  [field: string]: unknown;
}

interface Lifecycle {
  userId: string;
  secrets: Record<string, string>;
  firstKeyId: string;
  rotatedKeyId: string;
}

/**
 * Walks one key through its whole life on the app of `t`, and returns every secret that
 * was presented or issued on the way.
 */
async function runKeyLifecycle(t: TestApp): Promise<Lifecycle> {
  const user = await newUser(t.http);
  const created = await user.createKey({ name: 'log probe', permissions: ['IDENTITY'] });
  const firstKey = created.plainTextKey;
  await t.http.get('/external/v1/me').set('X-API-Key', firstKey).expect(200);
  await t.http.get('/external/v1/me').set('Authorization', `Bearer ${firstKey}`).expect(200);

  const wrongKey = `agpt_${randomBytes(32).toString('base64url')}`;
  await t.http.get('/external/v1/me').set('X-API-Key', wrongKey).expect(401);

  const rotated = await t.http
    .post(`/api/api-keys/${created.apiKey.id}/rotate`)
    .set(user.auth)
    .send({ gracePeriodSeconds: 0 })
    .expect(201);
  const rotatedKey: string = rotated.body.plainTextKey;
  const rotatedKeyId: string = rotated.body.apiKey.id;
  await t.http.get('/external/v1/me').set('X-API-Key', rotatedKey).expect(200);
  await t.http.get('/external/v1/me').set('X-API-Key', firstKey).expect(401);

  await t.http
    .put(`/api/api-keys/${rotatedKeyId}/permissions`)
    .set(user.auth)
    .send({ permissions: ['READ_GRAPH'] })
    .expect(200);
  await t.http.get('/external/v1/me').set('Authorization', `Bearer ${rotatedKey}`).expect(403);

  await t.http.delete(`/api/api-keys/${rotatedKeyId}`).set(user.auth).expect(200);
  await t.http.get('/external/v1/me').set('X-API-Key', rotatedKey).expect(401);

  const foreignToken = await tokenFor(user.id, {
    secret: 'a-different-secret-that-is-also-long-enough',
  });
  await t.http.get('/api/api-keys').set('Authorization', `Bearer ${foreignToken}`).expect(401);
  await t.http
    .post('/api/api-keys')
    .set(user.auth)
    .send({ name: 'bad', permissions: ['NOT_A_PERMISSION'] })
    .expect(400);

  return {
    userId: user.id,
    secrets: { firstKey, wrongKey, rotatedKey, userToken: user.token, foreignToken },
    firstKeyId: created.apiKey.id,
    rotatedKeyId,
  };
}

describe('the logs of a key lifecycle', () => {
  let t: TestApp;
  let lifecycle: Lifecycle;
  let stored: { hash: string; salt: string }[];

  beforeAll(async () => {
    t = await startTestApp();
    lifecycle = await runKeyLifecycle(t);
    stored = await query<{ hash: string; salt: string }>(
      'SELECT "hash", "salt" FROM "api_keys" WHERE "userId" = $1',
      [lifecycle.userId],
    );
  });

  afterAll(async () => {
    await t.close();
  });

  function lines(): LogLine[] {
    return t.logs.lines.map((line) => JSON.parse(line) as LogLine);
  }

  it('writes one JSON object per line', () => {
    expect(t.logs.lines.length).toBeGreaterThan(0);
    for (const line of t.logs.lines) {
      expect(() => JSON.parse(line)).not.toThrow();
    }
  });

  it('never contains a plaintext key, nor the secret part of one', () => {
    const { firstKey, wrongKey, rotatedKey } = lifecycle.secrets;

    for (const key of [firstKey, wrongKey, rotatedKey]) {
      expect(t.logs.text).not.toContain(key);
      expect(t.logs.text).not.toContain(key.slice(16));
    }
  });

  it('never contains a JWT, nor its signature', () => {
    const { userToken, foreignToken } = lifecycle.secrets;

    for (const token of [userToken, foreignToken]) {
      expect(t.logs.text).not.toContain(token);
      expect(t.logs.text).not.toContain(token.split('.')[2]);
    }
  });

  it('never contains a stored hash or salt', () => {
    expect(stored).toHaveLength(2);
    for (const { hash, salt } of stored) {
      expect(t.logs.text).not.toContain(hash);
      expect(t.logs.text).not.toContain(salt);
    }
  });

  it('never contains the Authorization or X-API-Key header', () => {
    expect(t.logs.text).not.toMatch(/authorization/i);
    expect(t.logs.text).not.toMatch(/x-api-key/i);
    expect(t.logs.text).not.toMatch(/bearer/i);
  });

  it('records the creation of the key with its id and owner', () => {
    const created = lines().find((line) => line.msg?.includes('Created API key'));

    expect(created?.msg).toContain(lifecycle.firstKeyId);
    expect(created?.msg).toContain(lifecycle.userId);
    expect(created?.context).toBe('ApiKeysService');
  });

  it('records the rotation, the permission change and the revocation with the key ids', () => {
    const messages = lines().map((line) => line.msg ?? '');
    const { firstKeyId, rotatedKeyId } = lifecycle;

    expect(messages).toContainEqual(expect.stringMatching(new RegExp(`Rotated.*${firstKeyId}`)));
    expect(messages).toContainEqual(expect.stringContaining(rotatedKeyId));
    expect(messages).toContainEqual(
      expect.stringMatching(new RegExp(`Set permissions of API key ${rotatedKeyId}`)),
    );
    expect(messages).toContainEqual(
      expect.stringMatching(new RegExp(`Revoked API key ${rotatedKeyId}`)),
    );
  });

  it('warns about refused keys and about missing permissions', () => {
    const warnings = lines().filter((line) => line.level === 40);

    expect(warnings.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Refused an unusable API key'),
        expect.stringContaining(`API key ${lifecycle.rotatedKeyId} lacks IDENTITY`),
      ]),
    );
  });

  it('logs one line per request with method, path and status', () => {
    const requests = lines().filter((line) => line.req !== undefined && line.res !== undefined);
    const summary = requests.map(
      (line) => `${line.req?.method} ${line.req?.url} ${line.res?.statusCode}`,
    );

    expect(summary).toEqual(
      expect.arrayContaining([
        'POST /api/api-keys 201',
        'GET /external/v1/me 200',
        'GET /external/v1/me 401',
        'GET /external/v1/me 403',
        `DELETE /api/api-keys/${lifecycle.rotatedKeyId} 200`,
        'GET /api/api-keys 401',
        'POST /api/api-keys 400',
      ]),
    );
  });

  it('describes a request by its id, method and url only', () => {
    const withRequest = lines().filter((line) => line.req !== undefined);

    expect(withRequest.length).toBeGreaterThan(0);
    for (const line of withRequest) {
      expect(Object.keys(line.req ?? {}).sort()).toEqual(['id', 'method', 'url']);
    }
  });
});
