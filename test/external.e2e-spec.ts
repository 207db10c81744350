import { randomBytes } from 'node:crypto';

import pg from 'pg';
import type { Test } from 'supertest';

import { newUser, startTestApp, TestApp, tokenFor } from './support/app.js';

type User = Awaited<ReturnType<typeof newUser>>;

function randomKeyBody(length: number): string {
  return randomBytes(length).toString('base64url').slice(0, length);
}

describe('GET /external/v1/me', () => {
  let t: TestApp;
  let db: pg.Client;

  beforeAll(async () => {
    t = await startTestApp();
    db = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await db.end();
    await t.close();
  });

  function me(plainTextKey: string): Test {
    return t.http.get('/external/v1/me').set('X-API-Key', plainTextKey);
  }

  /** Moves a key's expiry into the past, as if time had run out. */
  async function expire(keyId: string): Promise<void> {
    const past = new Date(Date.now() - 60_000);
    await db.query('UPDATE api_keys SET "expiresAt" = $1 WHERE id = $2', [past, keyId]);
  }

  async function setPermissions(user: User, keyId: string, permissions: string[]) {
    await t.http
      .put(`/api/api-keys/${keyId}/permissions`)
      .set(user.auth)
      .send({ permissions })
      .expect(200);
  }

  describe('with a usable key', () => {
    it('answers 200 with the owner, the key and its permissions from X-API-Key', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey({
        permissions: ['IDENTITY', 'READ_GRAPH'],
      });

      const response = await me(plainTextKey).expect(200);

      expect(response.body).toEqual({
        userId: user.id,
        keyId: apiKey.id,
        permissions: ['IDENTITY', 'READ_GRAPH'],
      });
    });

    it('accepts the key as Authorization: Bearer', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();

      const response = await t.http
        .get('/external/v1/me')
        .set('Authorization', `Bearer ${plainTextKey}`)
        .expect(200);

      expect(response.body).toEqual({
        userId: user.id,
        keyId: apiKey.id,
        permissions: ['IDENTITY'],
      });
    });

    it("tells two users' keys apart", async () => {
      const alice = await newUser(t.http);
      const bob = await newUser(t.http);
      const aliceKey = await alice.createKey();
      const bobKey = await bob.createKey();

      const forAlice = await me(aliceKey.plainTextKey).expect(200);
      const forBob = await me(bobKey.plainTextKey).expect(200);

      expect(forAlice.body).toMatchObject({ userId: alice.id, keyId: aliceKey.apiKey.id });
      expect(forBob.body).toMatchObject({ userId: bob.id, keyId: bobKey.apiKey.id });
    });
  });

  describe('without a usable key', () => {
    it('answers 401 when no key is presented', async () => {
      const response = await t.http.get('/external/v1/me').expect(401);

      expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('answers 401 for an empty X-API-Key header', async () => {
      await t.http.get('/external/v1/me').set('X-API-Key', '').expect(401);
    });

    it('answers 401 for a user JWT presented as a key', async () => {
      const user = await newUser(t.http);

      await t.http.get('/external/v1/me').set(user.auth).expect(401);
    });

    const unusable: Array<[string, (user: User) => Promise<string>]> = [
      ['an unknown key', async () => `agpt_${randomKeyBody(43)}`],
      [
        'a wrong key with a real head',
        async (user) => {
          const { apiKey, plainTextKey } = await user.createKey();

          return apiKey.head + randomKeyBody(plainTextKey.length - apiKey.head.length);
        },
      ],
      ['a key that is not in the key format', async () => 'not-an-api-key'],
      [
        'a suspended key',
        async (user) => {
          const { apiKey, plainTextKey } = await user.createKey();
          await t.http.post(`/api/api-keys/${apiKey.id}/suspend`).set(user.auth).expect(200);

          return plainTextKey;
        },
      ],
      [
        'a revoked key',
        async (user) => {
          const { apiKey, plainTextKey } = await user.createKey();
          await t.http.delete(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);

          return plainTextKey;
        },
      ],
      [
        'an expired key',
        async (user) => {
          const { apiKey, plainTextKey } = await user.createKey();
          await expire(apiKey.id);

          return plainTextKey;
        },
      ],
    ];

    it.each(unusable)(
      'answers 401 for %s with the same answer as for a made-up key',
      async (_case, make) => {
        const user = await newUser(t.http);
        const presented = await make(user);
        const unknown = await me(`agpt_${randomKeyBody(43)}`).expect(401);

        const response = await me(presented).expect(401);
        const asBearer = await t.http
          .get('/external/v1/me')
          .set('Authorization', `Bearer ${presented}`)
          .expect(401);

        expect(response.body).toEqual(unknown.body);
        expect(asBearer.body).toEqual(unknown.body);
        expect(response.body).toEqual({
          statusCode: 401,
          message: expect.any(String),
          error: 'Unauthorized',
        });
      },
    );

    it('stops accepting a key once its expiry passes', async () => {
      const user = await newUser(t.http);
      const expiresAt = new Date(Date.now() + 2000).toISOString();
      const { plainTextKey } = await user.createKey({ expiresAt });
      await me(plainTextKey);

      await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 50));

      await me(plainTextKey).expect(401);
    });
  });

  describe('permissions', () => {
    it('answers 403 naming IDENTITY for a key without it', async () => {
      const user = await newUser(t.http);
      const { plainTextKey } = await user.createKey({ permissions: ['READ_GRAPH', 'USE_TOOLS'] });

      const response = await me(plainTextKey).expect(403);

      expect(response.body).toEqual({
        statusCode: 403,
        message: expect.stringContaining('IDENTITY'),
        error: 'Forbidden',
      });
    });

    it('applies a permission change to the very next request', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey({ permissions: ['IDENTITY'] });
      await me(plainTextKey).expect(200);

      await setPermissions(user, apiKey.id, ['READ_GRAPH']);
      await me(plainTextKey).expect(403);

      await setPermissions(user, apiKey.id, ['READ_GRAPH', 'IDENTITY']);
      const response = await me(plainTextKey).expect(200);
      expect(response.body.permissions).toEqual(['READ_GRAPH', 'IDENTITY']);
    });
  });

  describe('a change of status', () => {
    it('shuts a suspended key out on the very next request and lets it back in on reactivation', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();
      await me(plainTextKey).expect(200);

      await t.http.post(`/api/api-keys/${apiKey.id}/suspend`).set(user.auth).expect(200);
      await me(plainTextKey).expect(401);

      await t.http.post(`/api/api-keys/${apiKey.id}/reactivate`).set(user.auth).expect(200);
      await me(plainTextKey).expect(200);
    });

    it('shuts a revoked key out on the very next request', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();
      await me(plainTextKey).expect(200);

      await t.http.delete(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);

      await me(plainTextKey).expect(401);
    });

    it('answers 409 when rotating a key that has expired', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      await expire(apiKey.id);

      await t.http.post(`/api/api-keys/${apiKey.id}/rotate`).set(user.auth).send({}).expect(409);
    });
  });
});

describe('a management route with a bad user token', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const tokens: Array<[string, () => Promise<string | undefined>]> = [
    ['no token', async () => undefined],
    ['a malformed token', async () => 'Bearer not.a.jwt'],
    ['a token without the Bearer scheme', async () => tokenFor('user-x')],
    [
      'a wrongly signed token',
      async () =>
        `Bearer ${await tokenFor('user-x', { secret: 'another-secret-that-is-long-enough-xxxxxxx' })}`,
    ],
    [
      'an expired token',
      async () => `Bearer ${await tokenFor('user-x', { expiresInSeconds: -10 })}`,
    ],
    ['an unsigned token', async () => `Bearer ${unsignedToken('user-x')}`],
  ];

  it.each(tokens)('answers 401 to %s', async (_case, authorization) => {
    const header = await authorization();
    const request = t.http.get('/api/api-keys');
    if (header !== undefined) request.set('Authorization', header);

    const response = await request.expect(401);

    expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('answers 401 to an API key presented as the user token', async () => {
    const user = await newUser(t.http);
    const { plainTextKey } = await user.createKey();

    await t.http.get('/api/api-keys').set('Authorization', `Bearer ${plainTextKey}`).expect(401);
  });

  it('writes nothing when creating a key with an expired token', async () => {
    const user = await newUser(t.http);
    const expired = await tokenFor(user.id, { expiresInSeconds: -10 });

    await t.http
      .post('/api/api-keys')
      .set('Authorization', `Bearer ${expired}`)
      .send({ name: 'late', permissions: ['IDENTITY'] })
      .expect(401);

    const response = await t.http.get('/api/api-keys').set(user.auth).expect(200);
    expect(response.body.items).toEqual([]);
  });
});

function unsignedToken(userId: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 600;

  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: userId, exp })}.`;
}
