import { randomBytes } from 'node:crypto';

import { newUser, scryptDerivations, startTestApp, TestApp } from './support/app.js';
import { query } from './support/db.js';
import { poll } from './support/wait.js';

const ME = '/external/v1/me';
const HEAD_LENGTH = 16;

/** GET /external/v1/me on `t` with `key`, asked until it answers `status` (at most 3 s). */
function meOnceItAnswers(t: TestApp, key: string, status: number) {
  const me = () => t.http.get(ME).set('X-API-Key', key);

  return poll(me, (response) => response.status === status, 3000, 50);
}

/** A key with the same head as `key` and a different (random) rest. */
function wrongKeyWithHeadOf(key: string): string {
  const rest = randomBytes(32)
    .toString('base64url')
    .slice(0, key.length - HEAD_LENGTH);

  return key.slice(0, HEAD_LENGTH) + rest;
}

describe('two instances sharing one database', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp();
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** A fresh key of a fresh user, used once on B so that B holds it in its cache. */
  async function keyCachedOnB(permissions: string[] = ['IDENTITY']) {
    const user = await newUser(a.http);
    const { apiKey, plainTextKey } = await user.createKey({ permissions });
    await b.http.get(ME).set('X-API-Key', plainTextKey).expect(200);

    return { user, id: apiKey.id, key: plainTextKey };
  }

  it('serves a key it verified once from its cache, without another derivation', async () => {
    const { key } = await keyCachedOnB();
    const before = await scryptDerivations(b);

    await b.http.get(ME).set('X-API-Key', key).expect(200);

    expect(await scryptDerivations(b)).toBe(before);
  });

  // A change made through the API is announced to every instance before it is answered,
  // so B refuses on the very next request, as the contract requires.
  it('refuses on B a key revoked through A, on the very next request', async () => {
    const { user, id, key } = await keyCachedOnB();

    await a.http.delete(`/api/api-keys/${id}`).set(user.auth).expect(200);

    const response = await b.http.get(ME).set('X-API-Key', key);
    expect(response.status).toBe(401);
    expect(response.body.message).toBe('Invalid API key');
  });

  it('refuses on B a key suspended through A, on the very next request', async () => {
    const { user, id, key } = await keyCachedOnB();

    await a.http.post(`/api/api-keys/${id}/suspend`).set(user.auth).expect(200);

    const response = await b.http.get(ME).set('X-API-Key', key);
    expect(response.status).toBe(401);
    expect(response.body.message).toBe('Invalid API key');
  });

  it('admits on B a key reactivated through A', async () => {
    const { user, id, key } = await keyCachedOnB();
    await a.http.post(`/api/api-keys/${id}/suspend`).set(user.auth).expect(200);
    await b.http.get(ME).set('X-API-Key', key).expect(401);

    await a.http.post(`/api/api-keys/${id}/reactivate`).set(user.auth).expect(200);

    await b.http.get(ME).set('X-API-Key', key).expect(200);
  });

  it('answers 403 on B naming a permission removed through A, on the very next request', async () => {
    const { user, id, key } = await keyCachedOnB(['IDENTITY', 'READ_GRAPH']);

    await a.http
      .put(`/api/api-keys/${id}/permissions`)
      .set(user.auth)
      .send({ permissions: ['READ_GRAPH'] })
      .expect(200);

    const response = await b.http.get(ME).set('X-API-Key', key);
    expect(response.status).toBe(403);
    expect(response.body.message).toContain('IDENTITY');
    expect(response.body.message).not.toContain('READ_GRAPH');
  });

  // A change made directly in SQL is not announced before anyone answers; instances
  // evict the key as soon as the trigger's notification reaches them.
  it('refuses on both instances a cached key revoked directly in SQL', async () => {
    const { id, key } = await keyCachedOnB();
    await a.http.get(ME).set('X-API-Key', key).expect(200);

    await query(`UPDATE api_keys SET status = 'REVOKED', "revokedAt" = now() WHERE id = $1`, [id]);

    expect((await meOnceItAnswers(a, key, 401)).status).toBe(401);
    expect((await meOnceItAnswers(b, key, 401)).status).toBe(401);
  });

  it('refuses a cached key suspended directly in SQL', async () => {
    const { id, key } = await keyCachedOnB();

    await query(`UPDATE api_keys SET status = 'SUSPENDED' WHERE id = $1`, [id]);

    expect((await meOnceItAnswers(b, key, 401)).status).toBe(401);
  });

  it('answers 403 on B for a cached key whose permissions were changed in SQL', async () => {
    const { id, key } = await keyCachedOnB(['IDENTITY', 'READ_GRAPH']);

    await query(`UPDATE api_keys SET permissions = '{READ_GRAPH}' WHERE id = $1`, [id]);

    const response = await meOnceItAnswers(b, key, 403);
    expect(response.status).toBe(403);
    expect(response.body.message).toContain('IDENTITY');
  });

  it('refuses on B a cached key given a past expiry in SQL', async () => {
    const { id, key } = await keyCachedOnB();

    await query(`UPDATE api_keys SET "expiresAt" = now() - interval '1 second' WHERE id = $1`, [
      id,
    ]);

    expect((await meOnceItAnswers(b, key, 401)).status).toBe(401);
  });
});

describe('failed attempts from one client', () => {
  const PER_HEAD = 5;
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ AUTH_FAILURES_PER_MINUTE_PER_KEY_HEAD: String(PER_HEAD) });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 with Retry-After, without hashing, once one head failed too often', async () => {
    const user = await newUser(t.http);
    const { plainTextKey } = await user.createKey();
    const start = await scryptDerivations(t);

    for (let i = 0; i < PER_HEAD; i++) {
      await t.http.get(ME).set('X-API-Key', wrongKeyWithHeadOf(plainTextKey)).expect(401);
    }
    const afterFailures = await scryptDerivations(t);
    expect(afterFailures).toBeGreaterThan(start);

    for (let i = 0; i < 3; i++) {
      const response = await t.http.get(ME).set('X-API-Key', wrongKeyWithHeadOf(plainTextKey));
      expect(response.status).toBe(429);
      const retryAfter = Number(response.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }

    expect(await scryptDerivations(t)).toBe(afterFailures);
  });

  it('still admits another key from the same client while one head is limited', async () => {
    const user = await newUser(t.http);
    const limited = await user.createKey();
    const other = await user.createKey();
    for (let i = 0; i < PER_HEAD; i++) {
      await t.http.get(ME).set('X-API-Key', wrongKeyWithHeadOf(limited.plainTextKey)).expect(401);
    }
    await t.http.get(ME).set('X-API-Key', wrongKeyWithHeadOf(limited.plainTextKey)).expect(429);

    await t.http.get(ME).set('X-API-Key', other.plainTextKey).expect(200);
  });
});

describe('recording key use', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LAST_USED_FLUSH_SECONDS: '1' });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('sets lastUsedAt of a key used once, after the next flush', async () => {
    const user = await newUser(t.http);
    const { apiKey, plainTextKey } = await user.createKey();
    const before = new Date();
    await t.http.get(ME).set('X-API-Key', plainTextKey).expect(200);

    const fetchKey = () => t.http.get(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);
    const response = await poll(fetchKey, (r) => r.body.lastUsedAt !== null, 5000, 50);

    expect(response.body.lastUsedAt).not.toBeNull();
    expect(new Date(response.body.lastUsedAt).getTime()).toBeGreaterThanOrEqual(before.getTime());
  });
});
