import { newUser, startTestApp, TestApp } from './support/app.js';

type User = Awaited<ReturnType<typeof newUser>>;

const ALL_PERMISSIONS = [
  'IDENTITY',
  'EXECUTE_GRAPH',
  'READ_GRAPH',
  'WRITE_GRAPH',
  'EXECUTE_BLOCK',
  'READ_BLOCK',
  'READ_STORE',
  'WRITE_LIBRARY',
  'USE_TOOLS',
  'MANAGE_INTEGRATIONS',
  'READ_INTEGRATIONS',
  'DELETE_INTEGRATIONS',
];

const VALID = { name: 'ci', permissions: ['IDENTITY'] };

function without(field: keyof typeof VALID): Record<string, unknown> {
  const body: Record<string, unknown> = { ...VALID };
  delete body[field];

  return body;
}

function messages(body: { message?: string | string[] }): string[] {
  return ([] as string[]).concat(body.message ?? []);
}

describe('input validation', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  async function keysOf(user: User): Promise<unknown[]> {
    const response = await t.http.get('/api/api-keys').set(user.auth).expect(200);

    return response.body.items;
  }

  describe('POST /api/api-keys', () => {
    it.each([
      ['an unknown field', { ...VALID, owner: 'someone-else' }, 'owner'],
      ['a name that is a number', { ...VALID, name: 42 }, 'name'],
      ['a missing name', without('name'), 'name'],
      ['an empty name', { ...VALID, name: '' }, 'name'],
      ['a name of only spaces', { ...VALID, name: '  \t ' }, 'name'],
      ['a name of 101 characters', { ...VALID, name: 'n'.repeat(101) }, 'name'],
      ['permissions given as a string', { ...VALID, permissions: 'IDENTITY' }, 'permissions'],
      ['missing permissions', without('permissions'), 'permissions'],
      ['an unknown permission', { ...VALID, permissions: ['IDENTITY', 'ROOT'] }, 'permissions'],
      ['a permission in lower case', { ...VALID, permissions: ['identity'] }, 'permissions'],
      ['an empty permission list', { ...VALID, permissions: [] }, 'permissions'],
      [
        'a permission listed twice',
        { ...VALID, permissions: ['IDENTITY', 'IDENTITY'] },
        'permissions',
      ],
      [
        'more than 12 permissions',
        { ...VALID, permissions: [...ALL_PERMISSIONS, 'IDENTITY'] },
        'permissions',
      ],
      ['a permission that is not a string', { ...VALID, permissions: [1] }, 'permissions'],
      ['a description that is a number', { ...VALID, description: 7 }, 'description'],
      ['a name holding U+0000', { ...VALID, name: 'x\u0000y' }, 'name'],
      ['a description holding U+0000', { ...VALID, description: 'a\u0000b' }, 'description'],
      [
        'a description of 1001 characters',
        { ...VALID, description: 'd'.repeat(1001) },
        'description',
      ],
      [
        'an expiresAt in the past',
        { ...VALID, expiresAt: new Date(Date.now() - 60_000).toISOString() },
        'expiresAt',
      ],
      ['an expiresAt that is not a date', { ...VALID, expiresAt: 'next tuesday' }, 'expiresAt'],
      ['an impossible expiresAt', { ...VALID, expiresAt: '2099-02-30T00:00:00Z' }, 'expiresAt'],
      ['an expiresAt given as a number', { ...VALID, expiresAt: 4102444800000 }, 'expiresAt'],
    ])('answers 400 naming the field for %s, and writes nothing', async (_case, body, field) => {
      const user = await newUser(t.http);

      const response = await t.http.post('/api/api-keys').set(user.auth).send(body).expect(400);

      expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(messages(response.body).length).toBeGreaterThan(0);
      for (const message of messages(response.body)) expect(message).toContain(field);
      await expect(keysOf(user)).resolves.toEqual([]);
    });

    it('answers 400 naming name and permissions for an empty body, and writes nothing', async () => {
      const user = await newUser(t.http);

      const response = await t.http.post('/api/api-keys').set(user.auth).send({}).expect(400);

      const text = messages(response.body).join('\n');
      expect(text).toContain('name');
      expect(text).toContain('permissions');
      await expect(keysOf(user)).resolves.toEqual([]);
    });

    it.each([
      ['a truncated object', '{"name": "ci", "permissions": ['],
      ['a bare string', '"ci"'],
      ['single-quoted keys', "{'name': 'ci', 'permissions': ['IDENTITY']}"],
    ])('answers 400 to a body that is %s, and writes nothing', async (_case, raw) => {
      const user = await newUser(t.http);

      const response = await t.http
        .post('/api/api-keys')
        .set(user.auth)
        .set('Content-Type', 'application/json')
        .send(raw)
        .expect(400);

      expect(response.body).toEqual({
        statusCode: 400,
        message: expect.stringContaining('JSON'),
        error: 'Bad Request',
      });
      await expect(keysOf(user)).resolves.toEqual([]);
    });

    it('answers 400 to a JSON array, and writes nothing', async () => {
      const user = await newUser(t.http);

      await t.http.post('/api/api-keys').set(user.auth).send([VALID]).expect(400);

      await expect(keysOf(user)).resolves.toEqual([]);
    });

    it('answers 400 to a body sent as plain text, and writes nothing', async () => {
      const user = await newUser(t.http);

      await t.http
        .post('/api/api-keys')
        .set(user.auth)
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify(VALID))
        .expect(400);

      await expect(keysOf(user)).resolves.toEqual([]);
    });

    it('answers 413 to a body over 100 kB, and writes nothing', async () => {
      const user = await newUser(t.http);

      const response = await t.http
        .post('/api/api-keys')
        .set(user.auth)
        .send({ ...VALID, description: 'x'.repeat(110 * 1024) })
        .expect(413);

      expect(response.body).toMatchObject({ statusCode: 413 });
      await expect(keysOf(user)).resolves.toEqual([]);
    });

    it('accepts the longest name, description and permission list', async () => {
      const user = await newUser(t.http);
      const name = 'n'.repeat(100);

      const { apiKey } = await user.createKey({
        name: `  ${name}  `,
        description: 'd'.repeat(1000),
        permissions: ALL_PERMISSIONS,
      });

      expect(apiKey).toMatchObject({ name, permissions: ALL_PERMISSIONS });
    });

    it('accepts a null description as no description', async () => {
      const user = await newUser(t.http);

      const { apiKey } = await user.createKey({ description: null });

      expect(apiKey).toMatchObject({ description: null });
    });
  });

  describe('PUT /api/api-keys/:id/permissions', () => {
    it.each([
      ['an unknown permission', { permissions: ['IDENTITY', 'ROOT'] }, 'permissions'],
      ['an empty list', { permissions: [] }, 'permissions'],
      ['a permission listed twice', { permissions: ['READ_GRAPH', 'READ_GRAPH'] }, 'permissions'],
      [
        'more than 12 permissions',
        { permissions: [...ALL_PERMISSIONS, 'USE_TOOLS'] },
        'permissions',
      ],
      ['permissions given as a string', { permissions: 'READ_GRAPH' }, 'permissions'],
      ['permissions given as null', { permissions: null }, 'permissions'],
      ['no permissions', {}, 'permissions'],
      ['an unknown field', { permissions: ['READ_GRAPH'], status: 'ACTIVE' }, 'status'],
    ])('answers 400 naming the field for %s, and changes nothing', async (_case, body, field) => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey({ permissions: ['IDENTITY'] });

      const response = await t.http
        .put(`/api/api-keys/${apiKey.id}/permissions`)
        .set(user.auth)
        .send(body)
        .expect(400);

      expect(messages(response.body).length).toBeGreaterThan(0);
      for (const message of messages(response.body)) expect(message).toContain(field);
      const after = await t.http.get(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);
      expect(after.body).toEqual(apiKey);
    });
  });
});

describe('inputs that once slipped past validation', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('refuses a rotation body that is not sent as JSON, and keeps the key as it was', async () => {
    const user = await newUser(t.http);
    const { apiKey } = await user.createKey();

    const response = await t.http
      .post(`/api/api-keys/${apiKey.id}/rotate`)
      .set(user.auth)
      .set('Content-Type', 'text/plain')
      .send('{"gracePeriodSeconds":3600}')
      .expect(400);

    expect(response.body.message).toContain('application/json');
    const key = await t.http.get(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);
    expect(key.body.status).toBe('ACTIVE');
  });

  it.each([
    ['an object named __proto__', '{"name":"ab","permissions":["IDENTITY"],"__proto__":{"a":1}}'],
    ['a field named constructor', '{"name":"ab","permissions":["IDENTITY"],"constructor":1}'],
    ['a field named toString', '{"name":"ab","permissions":["IDENTITY"],"toString":"x"}'],
  ])('refuses %s, naming it, and writes nothing', async (_case, raw) => {
    const user = await newUser(t.http);
    const field = /"(__proto__|constructor|toString)"/.exec(raw)?.[1];

    const response = await t.http
      .post('/api/api-keys')
      .set(user.auth)
      .set('Content-Type', 'application/json')
      .send(raw)
      .expect(400);

    expect(messages(response.body)).toContain(`property ${field} should not exist`);
    const listed = await t.http.get('/api/api-keys').set(user.auth).expect(200);
    expect(listed.body.items).toEqual([]);
  });

  it.each([
    ['a cursor whose id is not a UUID', `2024-01-01T00:00:00.000Z|${'-'.repeat(36)}`],
    ['a cursor in year 0', '0000-01-01T00:00:00.000Z|00000000-0000-0000-0000-000000000000'],
  ])('answers 400 naming cursor for %s', async (_case, decoded) => {
    const user = await newUser(t.http);
    const cursor = Buffer.from(decoded).toString('base64url');

    const response = await t.http.get('/api/api-keys').query({ cursor }).set(user.auth).expect(400);

    expect(messages(response.body).join(' ')).toContain('cursor');
  });

  it.each(['2030-060', '2030-W10-1', '20300101', '2030-02-31T00:00:00Z'])(
    'answers 400 naming expiresAt for the date %s',
    async (expiresAt) => {
      const user = await newUser(t.http);

      const response = await t.http
        .post('/api/api-keys')
        .set(user.auth)
        .send({ ...VALID, expiresAt })
        .expect(400);

      expect(messages(response.body).join(' ')).toContain('expiresAt must be an RFC 3339');
    },
  );

  it('accepts an expiry with a numeric offset', async () => {
    const user = await newUser(t.http);

    const { apiKey } = await user.createKey({ expiresAt: '2099-06-01T12:00:00+02:00' });

    expect(apiKey).toMatchObject({ expiresAt: '2099-06-01T10:00:00.000Z' });
  });
});
