import { randomUUID } from 'node:crypto';

import type { Test } from 'supertest';

import { newUser, startTestApp, TestApp } from './support/app.js';

interface ApiKeyBody {
  id: string;
  name: string;
  description: string | null;
  head: string;
  tail: string;
  status: 'ACTIVE' | 'SUSPENDED' | 'REVOKED';
  permissions: string[];
  userId: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

type User = Awaited<ReturnType<typeof newUser>>;

const API_KEY_FIELDS = [
  'createdAt',
  'description',
  'expiresAt',
  'head',
  'id',
  'lastUsedAt',
  'name',
  'permissions',
  'revokedAt',
  'status',
  'tail',
  'userId',
];
const PLAIN_TEXT_KEY = /^agpt_[A-Za-z0-9_-]{43}$/;
const ONE_DAY_MS = 24 * 60 * 60 * 1000;

describe('the key management API', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  async function getKey(user: User, id: string): Promise<ApiKeyBody> {
    const response = await t.http.get(`/api/api-keys/${id}`).set(user.auth).expect(200);

    return response.body as ApiKeyBody;
  }

  async function listKeys(user: User, query: Record<string, string | number> = {}) {
    const response = await t.http.get('/api/api-keys').query(query).set(user.auth).expect(200);

    return response.body as { items: ApiKeyBody[]; nextCursor: string | null };
  }

  async function createKeys(user: User, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { apiKey } = await user.createKey({ name: `key ${i}` });
      ids.push(apiKey.id);
    }

    return ids;
  }

  function me(plainTextKey: string): Test {
    return t.http.get('/external/v1/me').set('X-API-Key', plainTextKey);
  }

  describe('POST /api/api-keys', () => {
    it('answers 201 with the key and its plaintext', async () => {
      const user = await newUser(t.http);

      const response = await t.http
        .post('/api/api-keys')
        .set(user.auth)
        .send({ name: 'CI deploys', permissions: ['IDENTITY', 'READ_GRAPH'] })
        .expect(201);

      expect(Object.keys(response.body).sort()).toEqual(['apiKey', 'plainTextKey']);
      expect(response.body.apiKey).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'CI deploys',
        description: null,
        head: expect.any(String),
        tail: expect.any(String),
        status: 'ACTIVE',
        permissions: ['IDENTITY', 'READ_GRAPH'],
        userId: user.id,
        createdAt: expect.any(String),
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
      });
    });

    it('returns exactly the contract fields, never a hash or salt', async () => {
      const user = await newUser(t.http);

      const { apiKey } = await user.createKey();

      expect(Object.keys(apiKey).sort()).toEqual(API_KEY_FIELDS);
      expect(apiKey).not.toHaveProperty('hash');
      expect(apiKey).not.toHaveProperty('salt');
    });

    it('returns a plaintext key in the AutoGPT format that starts with head and ends with tail', async () => {
      const user = await newUser(t.http);

      const { apiKey, plainTextKey } = await user.createKey();
      const { tail } = apiKey as ApiKeyBody;

      expect(plainTextKey).toMatch(PLAIN_TEXT_KEY);
      expect(plainTextKey.startsWith(apiKey.head)).toBe(true);
      expect(plainTextKey.endsWith(tail)).toBe(true);
      expect(tail).toHaveLength(8);
    });

    it('trims the name', async () => {
      const user = await newUser(t.http);

      const { apiKey } = await user.createKey({ name: '  padded name \t' });

      expect((apiKey as ApiKeyBody).name).toBe('padded name');
    });

    it('keeps the description and expiry it was given', async () => {
      const user = await newUser(t.http);
      const expiresAt = new Date(Date.now() + ONE_DAY_MS).toISOString();

      const { apiKey } = await user.createKey({ description: 'for the nightly job', expiresAt });

      expect(apiKey).toMatchObject({ description: 'for the nightly job', expiresAt });
    });

    it('makes a different key every time', async () => {
      const user = await newUser(t.http);

      const first = await user.createKey();
      const second = await user.createKey();

      expect(second.apiKey.id).not.toBe(first.apiKey.id);
      expect(second.plainTextKey).not.toBe(first.plainTextKey);
      expect(second.apiKey.head).not.toBe(first.apiKey.head);
    });

    it('never shows the plaintext key again', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();

      const one = await t.http.get(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);
      const all = await t.http.get('/api/api-keys').set(user.auth).expect(200);

      for (const text of [one.text, all.text]) {
        expect(text).not.toContain(plainTextKey);
        expect(text).not.toMatch(/"(hash|salt)"/);
      }
    });
  });

  describe('GET /api/api-keys', () => {
    it("lists only the caller's keys, newest first", async () => {
      const user = await newUser(t.http);
      const stranger = await newUser(t.http);
      const ids = await createKeys(user, 3);
      await stranger.createKey();

      const page = await listKeys(user);

      expect(page.items.map((key) => key.id)).toEqual([...ids].reverse());
      expect(page.items.every((key) => key.userId === user.id)).toBe(true);
      expect(page.nextCursor).toBeNull();
    });

    it('returns exactly the contract fields for each key', async () => {
      const user = await newUser(t.http);
      await user.createKey();

      const page = await listKeys(user);

      expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
      expect(Object.keys(page.items[0]).sort()).toEqual(API_KEY_FIELDS);
    });

    it('answers an empty page for a user without keys', async () => {
      const user = await newUser(t.http);

      await expect(listKeys(user)).resolves.toEqual({ items: [], nextCursor: null });
    });

    it('returns at most limit keys and a cursor to the rest', async () => {
      const user = await newUser(t.http);
      const ids = await createKeys(user, 3);

      const page = await listKeys(user, { limit: 2 });

      expect(page.items.map((key) => key.id)).toEqual([ids[2], ids[1]]);
      expect(page.nextCursor).toEqual(expect.any(String));
    });

    it('walks every key once when following nextCursor', async () => {
      const user = await newUser(t.http);
      const ids = await createKeys(user, 5);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;

      do {
        const query: Record<string, string | number> = { limit: 2 };
        if (cursor !== null) query.cursor = cursor;
        const page = await listKeys(user, query);
        seen.push(...page.items.map((key) => key.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);

      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('gives no cursor when the last page is exactly full', async () => {
      const user = await newUser(t.http);
      await createKeys(user, 2);

      const page = await listKeys(user, { limit: 2 });

      expect(page.items).toHaveLength(2);
      expect(page.nextCursor).toBeNull();
    });

    it('filters by status', async () => {
      const user = await newUser(t.http);
      const [active, suspended, revoked] = await createKeys(user, 3);
      await t.http.post(`/api/api-keys/${suspended}/suspend`).set(user.auth).expect(200);
      await t.http.delete(`/api/api-keys/${revoked}`).set(user.auth).expect(200);

      const byStatus = async (status: string) =>
        (await listKeys(user, { status })).items.map((key) => key.id);

      await expect(byStatus('ACTIVE')).resolves.toEqual([active]);
      await expect(byStatus('SUSPENDED')).resolves.toEqual([suspended]);
      await expect(byStatus('REVOKED')).resolves.toEqual([revoked]);
    });

    it('pages through one status only', async () => {
      const user = await newUser(t.http);
      const ids = await createKeys(user, 4);
      await t.http.post(`/api/api-keys/${ids[1]}/suspend`).set(user.auth).expect(200);

      const first = await listKeys(user, { status: 'ACTIVE', limit: 2 });
      const second = await listKeys(user, {
        status: 'ACTIVE',
        limit: 2,
        cursor: first.nextCursor ?? '',
      });

      expect(first.items.map((key) => key.id)).toEqual([ids[3], ids[2]]);
      expect(second.items.map((key) => key.id)).toEqual([ids[0]]);
      expect(second.nextCursor).toBeNull();
    });

    it('returns 50 keys by default', async () => {
      const user = await newUser(t.http);
      for (let made = 0; made < 51; made += 3) {
        await Promise.all([0, 1, 2].map(() => user.createKey({ name: 'bulk' })));
      }

      const page = await listKeys(user);

      expect(page.items).toHaveLength(50);
      expect(page.nextCursor).toEqual(expect.any(String));
      const rest = await listKeys(user, { cursor: page.nextCursor ?? '' });
      expect(rest.items).toHaveLength(1);
      expect(rest.nextCursor).toBeNull();
    }, 60_000);

    it.each([1, 500])('accepts limit=%s', async (limit) => {
      const user = await newUser(t.http);
      await createKeys(user, 2);

      const page = await listKeys(user, { limit });

      expect(page.items).toHaveLength(Math.min(limit, 2));
    });

    it.each(['0', '501', '-1', '1.5', 'ten'])(
      'answers 400 naming limit for limit=%s',
      async (limit) => {
        const user = await newUser(t.http);

        const response = await t.http
          .get('/api/api-keys')
          .query({ limit })
          .set(user.auth)
          .expect(400);

        expect(JSON.stringify(response.body.message)).toContain('limit');
      },
    );

    it('answers 400 naming status for an unknown status', async () => {
      const user = await newUser(t.http);

      const response = await t.http
        .get('/api/api-keys')
        .query({ status: 'DELETED' })
        .set(user.auth)
        .expect(400);

      expect(JSON.stringify(response.body.message)).toContain('status');
    });

    it.each([
      ['text that is not base64', 'not a cursor!'],
      ['base64 of something else', Buffer.from('hello world').toString('base64url')],
      [
        'a cursor with an impossible date',
        Buffer.from(`2024-13-45T99:99:99.999Z|${randomUUID()}`).toString('base64url'),
      ],
    ])('answers 400 naming cursor for %s', async (_case, cursor) => {
      const user = await newUser(t.http);
      await user.createKey();

      const response = await t.http
        .get('/api/api-keys')
        .query({ cursor })
        .set(user.auth)
        .expect(400);

      expect(JSON.stringify(response.body.message)).toContain('cursor');
    });
  });

  describe('GET /api/api-keys/:id', () => {
    it('answers 200 with the key as it was created', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey({ description: 'seen again' });

      await expect(getKey(user, apiKey.id)).resolves.toEqual(apiKey);
    });

    it('answers 404 for a key that does not exist', async () => {
      const user = await newUser(t.http);
      const id = randomUUID();

      const response = await t.http.get(`/api/api-keys/${id}`).set(user.auth).expect(404);

      expect(response.body).toEqual({
        statusCode: 404,
        message: expect.stringContaining(id),
        error: 'Not Found',
      });
    });
  });

  describe('DELETE /api/api-keys/:id', () => {
    it('answers 200 with the key now REVOKED and its revokedAt', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      const before = Date.now();

      const response = await t.http.delete(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);

      expect(response.body).toEqual({
        ...apiKey,
        status: 'REVOKED',
        revokedAt: expect.any(String),
      });
      expect(Date.parse(response.body.revokedAt)).toBeGreaterThanOrEqual(before - 1000);
      await expect(getKey(user, apiKey.id)).resolves.toEqual(response.body);
    });

    it('answers 200 and changes nothing when revoking again', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      const first = await t.http.delete(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);

      const second = await t.http.delete(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);

      expect(second.body).toEqual(first.body);
      expect(second.body.revokedAt).toBe(first.body.revokedAt);
    });

    it('revokes a suspended key', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      await t.http.post(`/api/api-keys/${apiKey.id}/suspend`).set(user.auth).expect(200);

      const response = await t.http.delete(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);

      expect(response.body).toMatchObject({ status: 'REVOKED', revokedAt: expect.any(String) });
    });
  });

  describe('suspend and reactivate', () => {
    it('answers 200 with the key SUSPENDED', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/suspend`)
        .set(user.auth)
        .expect(200);

      expect(response.body).toEqual({ ...apiKey, status: 'SUSPENDED' });
      await expect(getKey(user, apiKey.id)).resolves.toEqual(response.body);
    });

    it('answers 200 with the key ACTIVE again', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      await t.http.post(`/api/api-keys/${apiKey.id}/suspend`).set(user.auth).expect(200);

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/reactivate`)
        .set(user.auth)
        .expect(200);

      expect(response.body).toEqual({ ...apiKey, status: 'ACTIVE' });
      await expect(getKey(user, apiKey.id)).resolves.toEqual(response.body);
    });

    it('answers 200 unchanged when suspending a suspended key', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      await t.http.post(`/api/api-keys/${apiKey.id}/suspend`).set(user.auth).expect(200);

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/suspend`)
        .set(user.auth)
        .expect(200);

      expect(response.body).toEqual({ ...apiKey, status: 'SUSPENDED' });
    });

    it('answers 200 unchanged when reactivating an active key', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/reactivate`)
        .set(user.auth)
        .expect(200);

      expect(response.body).toEqual(apiKey);
    });
  });

  describe('PUT /api/api-keys/:id/permissions', () => {
    it('answers 200 with the permissions replaced', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey({ permissions: ['IDENTITY'] });

      const response = await t.http
        .put(`/api/api-keys/${apiKey.id}/permissions`)
        .set(user.auth)
        .send({ permissions: ['READ_GRAPH', 'EXECUTE_GRAPH'] })
        .expect(200);

      expect(response.body).toEqual({ ...apiKey, permissions: ['READ_GRAPH', 'EXECUTE_GRAPH'] });
      await expect(getKey(user, apiKey.id)).resolves.toEqual(response.body);
    });

    it('changes the permissions of a suspended key and keeps it suspended', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey({ permissions: ['IDENTITY'] });
      await t.http.post(`/api/api-keys/${apiKey.id}/suspend`).set(user.auth).expect(200);

      const response = await t.http
        .put(`/api/api-keys/${apiKey.id}/permissions`)
        .set(user.auth)
        .send({ permissions: ['READ_STORE'] })
        .expect(200);

      expect(response.body).toMatchObject({ status: 'SUSPENDED', permissions: ['READ_STORE'] });
    });
  });

  describe('POST /api/api-keys/:id/rotate', () => {
    it('answers 201 with a new key, its plaintext and the previous key', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({})
        .expect(201);

      expect(Object.keys(response.body).sort()).toEqual(['apiKey', 'plainTextKey', 'previous']);
      expect(Object.keys(response.body.apiKey).sort()).toEqual(API_KEY_FIELDS);
      expect(Object.keys(response.body.previous).sort()).toEqual(API_KEY_FIELDS);
      expect(response.body.previous.id).toBe(apiKey.id);
      expect(response.body.apiKey.id).not.toBe(apiKey.id);
      expect(response.body.plainTextKey).toMatch(PLAIN_TEXT_KEY);
      expect(response.body.plainTextKey).not.toBe(plainTextKey);
      expect(response.body.plainTextKey.startsWith(response.body.apiKey.head)).toBe(true);
      expect(response.body.plainTextKey.endsWith(response.body.apiKey.tail)).toBe(true);
      expect(response.text).not.toContain(plainTextKey);
    });

    it('gives the new key the same name, description, permissions and expiry', async () => {
      const user = await newUser(t.http);
      const expiresAt = new Date(Date.now() + 3 * ONE_DAY_MS).toISOString();
      const { apiKey } = await user.createKey({
        name: 'nightly export',
        description: 'reads graphs at night',
        permissions: ['READ_GRAPH', 'IDENTITY', 'READ_STORE'],
        expiresAt,
      });

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({ gracePeriodSeconds: 60 })
        .expect(201);

      expect(response.body.apiKey).toEqual({
        id: expect.any(String),
        name: 'nightly export',
        description: 'reads graphs at night',
        head: expect.any(String),
        tail: expect.any(String),
        status: 'ACTIVE',
        permissions: ['READ_GRAPH', 'IDENTITY', 'READ_STORE'],
        userId: user.id,
        createdAt: expect.any(String),
        lastUsedAt: null,
        expiresAt,
        revokedAt: null,
      });
    });

    it('revokes the old key at once with a grace period of 0', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();
      await me(plainTextKey).expect(200);

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({ gracePeriodSeconds: 0 })
        .expect(201);

      expect(response.body.previous).toMatchObject({
        id: apiKey.id,
        status: 'REVOKED',
        revokedAt: expect.any(String),
      });
      await expect(getKey(user, apiKey.id)).resolves.toEqual(response.body.previous);
      await me(plainTextKey).expect(401);
      await me(response.body.plainTextKey).expect(200);
    });

    it('revokes the old key at once when no grace period is given', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .expect(201);

      expect(response.body.previous).toMatchObject({ status: 'REVOKED' });
      await me(plainTextKey).expect(401);
    });

    it('keeps the old key working until now + grace period', async () => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();
      const grace = 3600;
      const before = Date.now();

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({ gracePeriodSeconds: grace })
        .expect(201);
      const after = Date.now();

      const { previous } = response.body;
      expect(previous).toMatchObject({ id: apiKey.id, status: 'ACTIVE', revokedAt: null });
      expect(Date.parse(previous.expiresAt)).toBeGreaterThanOrEqual(before + grace * 1000 - 1000);
      expect(Date.parse(previous.expiresAt)).toBeLessThanOrEqual(after + grace * 1000 + 1000);
      await expect(getKey(user, apiKey.id)).resolves.toEqual(previous);
      await me(plainTextKey).expect(200);
      await me(response.body.plainTextKey).expect(200);
    });

    it('never extends the old key past its own expiry', async () => {
      const user = await newUser(t.http);
      const expiresAt = new Date(Date.now() + 60 * 60 * 1000).toISOString();
      const { apiKey } = await user.createKey({ expiresAt });

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({ gracePeriodSeconds: 7 * 24 * 60 * 60 })
        .expect(201);

      expect(response.body.previous.expiresAt).toBe(expiresAt);
    });

    it('answers 409 for a suspended key and changes nothing', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      await t.http.post(`/api/api-keys/${apiKey.id}/suspend`).set(user.auth).expect(200);
      const before = await getKey(user, apiKey.id);

      await t.http.post(`/api/api-keys/${apiKey.id}/rotate`).set(user.auth).send({}).expect(409);

      await expect(getKey(user, apiKey.id)).resolves.toEqual(before);
      expect((await listKeys(user)).items).toHaveLength(1);
    });

    it('answers 409 for a key that was already rotated', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({ gracePeriodSeconds: 600 })
        .expect(201);
      const before = await getKey(user, apiKey.id);

      await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({ gracePeriodSeconds: 600 })
        .expect(409);

      await expect(getKey(user, apiKey.id)).resolves.toEqual(before);
      expect((await listKeys(user)).items).toHaveLength(2);
    });

    it.each([
      ['-1', -1],
      ['604801', 604801],
      ['1.5', 1.5],
      ['"60" as a string', '60'],
    ])('answers 400 naming gracePeriodSeconds for %s', async (_case, gracePeriodSeconds) => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({ gracePeriodSeconds })
        .expect(400);

      expect(JSON.stringify(response.body.message)).toContain('gracePeriodSeconds');
      await expect(getKey(user, apiKey.id)).resolves.toEqual(apiKey);
      expect((await listKeys(user)).items).toHaveLength(1);
      await me(plainTextKey).expect(200);
    });

    it('accepts the longest grace period, 604800 seconds', async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();

      const response = await t.http
        .post(`/api/api-keys/${apiKey.id}/rotate`)
        .set(user.auth)
        .send({ gracePeriodSeconds: 604800 })
        .expect(201);

      expect(response.body.previous.status).toBe('ACTIVE');
    });
  });

  describe("another user's key", () => {
    const routes: Array<[string, (user: User, id: string) => Test]> = [
      ['GET /api/api-keys/:id', (user, id) => t.http.get(`/api/api-keys/${id}`).set(user.auth)],
      [
        'DELETE /api/api-keys/:id',
        (user, id) => t.http.delete(`/api/api-keys/${id}`).set(user.auth),
      ],
      [
        'POST /api/api-keys/:id/suspend',
        (user, id) => t.http.post(`/api/api-keys/${id}/suspend`).set(user.auth),
      ],
      [
        'POST /api/api-keys/:id/reactivate',
        (user, id) => t.http.post(`/api/api-keys/${id}/reactivate`).set(user.auth),
      ],
      [
        'PUT /api/api-keys/:id/permissions',
        (user, id) =>
          t.http
            .put(`/api/api-keys/${id}/permissions`)
            .set(user.auth)
            .send({ permissions: ['READ_GRAPH'] }),
      ],
      [
        'POST /api/api-keys/:id/rotate',
        (user, id) =>
          t.http.post(`/api/api-keys/${id}/rotate`).set(user.auth).send({ gracePeriodSeconds: 60 }),
      ],
    ];

    it.each(routes)(
      'answers 404 on %s exactly as for a key that does not exist',
      async (_route, call) => {
        const owner = await newUser(t.http);
        const intruder = await newUser(t.http);
        const { apiKey, plainTextKey } = await owner.createKey();
        const missingId = randomUUID();

        const missing = await call(intruder, missingId).expect(404);
        const foreign = await call(intruder, apiKey.id).expect(404);

        expect(foreign.body).toEqual({
          ...missing.body,
          message: missing.body.message.replace(missingId, apiKey.id),
        });
        await expect(getKey(owner, apiKey.id)).resolves.toEqual(apiKey);
        expect((await listKeys(owner)).items).toEqual([apiKey]);
        expect((await listKeys(intruder)).items).toEqual([]);
        await me(plainTextKey).expect(200);
      },
    );

    it('answers 404 for a suspended key of another user on reactivate, leaving it suspended', async () => {
      const owner = await newUser(t.http);
      const intruder = await newUser(t.http);
      const { apiKey } = await owner.createKey();
      await t.http.post(`/api/api-keys/${apiKey.id}/suspend`).set(owner.auth).expect(200);

      await t.http.post(`/api/api-keys/${apiKey.id}/reactivate`).set(intruder.auth).expect(404);

      await expect(getKey(owner, apiKey.id)).resolves.toMatchObject({ status: 'SUSPENDED' });
    });
  });

  describe('a revoked key', () => {
    const changes: Array<[string, (user: User, id: string) => Test]> = [
      ['suspend', (user, id) => t.http.post(`/api/api-keys/${id}/suspend`).set(user.auth)],
      ['reactivate', (user, id) => t.http.post(`/api/api-keys/${id}/reactivate`).set(user.auth)],
      [
        'a permission change',
        (user, id) =>
          t.http
            .put(`/api/api-keys/${id}/permissions`)
            .set(user.auth)
            .send({ permissions: ['READ_GRAPH'] }),
      ],
      ['rotation', (user, id) => t.http.post(`/api/api-keys/${id}/rotate`).set(user.auth).send({})],
    ];

    it.each(changes)('answers 409 to %s and stays unchanged', async (_change, call) => {
      const user = await newUser(t.http);
      const { apiKey, plainTextKey } = await user.createKey();
      await t.http.delete(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);
      const revoked = await getKey(user, apiKey.id);

      const response = await call(user, apiKey.id).expect(409);

      expect(response.body).toEqual({
        statusCode: 409,
        message: expect.stringContaining('revoked'),
        error: 'Conflict',
      });
      await expect(getKey(user, apiKey.id)).resolves.toEqual(revoked);
      expect((await listKeys(user)).items).toEqual([revoked]);
      await me(plainTextKey).expect(401);
    });
  });

  describe('a path id that is not a UUID', () => {
    const calls: Array<[string, (user: User) => Test]> = [
      ['GET', (user) => t.http.get('/api/api-keys/not-a-uuid').set(user.auth)],
      ['DELETE', (user) => t.http.delete('/api/api-keys/not-a-uuid').set(user.auth)],
      ['suspend', (user) => t.http.post('/api/api-keys/not-a-uuid/suspend').set(user.auth)],
      ['reactivate', (user) => t.http.post('/api/api-keys/not-a-uuid/reactivate').set(user.auth)],
      [
        'PUT permissions',
        (user) =>
          t.http
            .put('/api/api-keys/not-a-uuid/permissions')
            .set(user.auth)
            .send({ permissions: ['IDENTITY'] }),
      ],
      ['rotate', (user) => t.http.post('/api/api-keys/not-a-uuid/rotate').set(user.auth).send({})],
    ];

    it.each(calls)('answers 400 naming id on %s', async (_route, call) => {
      const user = await newUser(t.http);

      const response = await call(user).expect(400);

      expect(response.body).toEqual({
        statusCode: 400,
        message: expect.stringContaining('id'),
        error: 'Bad Request',
      });
    });
  });
});
