import { randomBytes, randomUUID, scryptSync } from 'node:crypto';

import { newUserId, startTestApp, TestApp } from './support/app.js';
import { createScratchDatabase, query, ScratchDatabase } from './support/db.js';
import { AutogptRow, AutogptVector, autogptVectors } from './support/fixtures.js';

type FixtureRow = AutogptRow;
type Vector = AutogptVector;

interface StoredKey {
  head: string;
  hash: string;
  salt: string | null;
}

const vectors = autogptVectors();
const legacy = vectors.filter((vector) => vector.row.salt === null);
const scrypt = vectors.filter((vector) => vector.row.salt !== null);

const kindOf = (vector: Vector) => (vector.row.salt === null ? 'legacy SHA-256' : 'scrypt');
const cases = vectors.map((vector) => [kindOf(vector), vector.row.head, vector] as const);

/**
 * Keys of the AutoGPT platform, stored as its database holds them. The fixture keys are the
 * same in every test, so these tests run on a database of their own, each with its own app
 * (and so its own cache of verified keys), and remove their rows when done: a key presented
 * to the service must find only the row the test wrote.
 */
describe('keys imported from an AutoGPT database', () => {
  let database: ScratchDatabase;
  let t: TestApp;
  let inserted: string[] = [];

  beforeAll(async () => {
    database = await createScratchDatabase();
  });

  beforeEach(async () => {
    t = await startTestApp({ DATABASE_URL: database.url });
  });

  afterEach(async () => {
    await t.close();
    await query('DELETE FROM "api_keys" WHERE "id" = ANY($1::uuid[])', [inserted], database.url);
    inserted = [];
  });

  afterAll(async () => {
    await database.drop();
  });

  /** Writes the fixture row under a fresh id and user id, as an import would leave it. */
  async function insertRow(row: FixtureRow): Promise<{ id: string; userId: string }> {
    const id = randomUUID();
    const userId = newUserId();
    await query(
      `INSERT INTO "api_keys" ("id", "userId", "name", "head", "tail", "hash", "salt",
         "permissions", "status", "description", "createdAt", "lastUsedAt", "revokedAt")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::"APIKeyPermission"[], $9::"APIKeyStatus",
         $10, $11, $12, $13)`,
      [
        id,
        userId,
        row.name,
        row.head,
        row.tail,
        row.hash,
        row.salt,
        row.permissions,
        row.status,
        row.description,
        row.createdAt,
        row.lastUsedAt,
        row.revokedAt,
      ],
      database.url,
    );
    inserted.push(id);

    return { id, userId };
  }

  async function storedKey(id: string): Promise<StoredKey> {
    const [row] = await query<StoredKey>(
      'SELECT "head", "hash", "salt" FROM "api_keys" WHERE "id" = $1',
      [id],
      database.url,
    );

    return row;
  }

  it('come with both legacy and scrypt rows in the fixtures', () => {
    expect(legacy.length).toBeGreaterThan(0);
    expect(scrypt.length).toBeGreaterThan(0);
  });

  it.each(cases)(
    'accepts a %s key (%s) on /external/v1/me as its owner',
    async (_k, _h, vector) => {
      const { id, userId } = await insertRow(vector.row);

      const response = await t.http
        .get('/external/v1/me')
        .set('X-API-Key', vector.plaintext)
        .expect(200);

      expect(response.body).toEqual({ userId, keyId: id, permissions: vector.row.permissions });
    },
  );

  it.each(legacy.map((vector) => [vector.row.head, vector] as const))(
    're-hashes the legacy key %s with salted scrypt on its first use',
    async (_head, vector) => {
      const { id } = await insertRow(vector.row);

      await t.http.get('/external/v1/me').set('X-API-Key', vector.plaintext).expect(200);

      const stored = await storedKey(id);
      expect(stored.salt).toMatch(/^[0-9a-f]{64}$/);
      expect(stored.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(stored.hash).not.toBe(vector.row.hash);
      const derived = scryptSync(vector.plaintext, Buffer.from(stored.salt!, 'hex'), 32, {
        N: 2 ** 14,
        r: 8,
        p: 1,
      });
      expect(stored.hash).toBe(derived.toString('hex'));
      expect(vector.plaintext.startsWith(stored.head)).toBe(true);
    },
  );

  it('keeps accepting a re-hashed legacy key, also on an instance that never saw it', async () => {
    const [vector] = legacy;
    const { id, userId } = await insertRow(vector.row);
    await t.http.get('/external/v1/me').set('X-API-Key', vector.plaintext).expect(200);
    expect((await storedKey(id)).salt).not.toBeNull();

    const again = await t.http
      .get('/external/v1/me')
      .set('Authorization', `Bearer ${vector.plaintext}`)
      .expect(200);
    expect(again.body).toMatchObject({ userId, keyId: id });

    const other = await startTestApp({ DATABASE_URL: database.url });
    try {
      const fresh = await other.http
        .get('/external/v1/me')
        .set('X-API-Key', vector.plaintext)
        .expect(200);

      expect(fresh.body).toMatchObject({ userId, keyId: id });
    } finally {
      await other.close();
    }
  });

  it('leaves a scrypt key hashed as it was', async () => {
    const [vector] = scrypt;
    const { id } = await insertRow(vector.row);

    await t.http.get('/external/v1/me').set('X-API-Key', vector.plaintext).expect(200);

    const stored = await storedKey(id);
    expect(stored.hash).toBe(vector.row.hash);
    expect(stored.salt).toBe(vector.row.salt);
  });

  it.each(legacy.map((vector) => [vector.row.head, vector] as const))(
    'refuses a wrong key that starts with the real legacy head %s',
    async (head, vector) => {
      const { id } = await insertRow(vector.row);
      const wrongKey = head + randomBytes(32).toString('base64url').slice(0, 40);
      expect(wrongKey).toHaveLength(vector.plaintext.length);

      const response = await t.http.get('/external/v1/me').set('X-API-Key', wrongKey).expect(401);

      expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      expect(await storedKey(id)).toEqual({ head, hash: vector.row.hash, salt: null });
    },
  );
});
