import { newUser, startTestApp, TestApp } from './support/app.js';

type User = Awaited<ReturnType<typeof newUser>>;

interface ApiKey {
  id: string;
  name: string;
  status: 'ACTIVE' | 'SUSPENDED' | 'REVOKED';
  permissions: string[];
  expiresAt: string | null;
  revokedAt: string | null;
}

interface IssuedKey {
  apiKey: ApiKey;
  plainTextKey: string;
}

interface Answer {
  status: number;
  // The body is whatever the route answers; each test reads the fields it expects.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

type Method = 'get' | 'post' | 'put' | 'delete';

const RACE_TIMEOUT_MS = 60_000;
// Keys raced at once where rotations take part: enough for many more transactions than the
// pool holds connections.
const WAVE = 20;

/** Runs `race` on every item, `size` items at a time. */
async function inWaves<T, R>(items: T[], race: (item: T) => Promise<R>, size: number) {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map(race))));
  }

  return results;
}

describe('racing requests on one key', () => {
  let t: TestApp;
  let answers: Answer[];

  beforeAll(async () => {
    // Suspended and revoked keys are presented on purpose: keep the failure limiter out of it.
    t = await startTestApp({
      AUTH_FAILURES_PER_MINUTE_PER_ADDRESS: '1000000',
      AUTH_FAILURES_PER_MINUTE_PER_KEY_HEAD: '1000000',
    });
  });

  afterAll(async () => {
    await t.close();
  });

  beforeEach(() => {
    answers = [];
  });

  afterEach(() => {
    const serverErrors = answers.filter((answer) => answer.status >= 500);
    expect(serverErrors).toEqual([]);
  });

  async function send(user: User, method: Method, path: string, body?: object): Promise<Answer> {
    const pending = t.http[method](path).set(user.auth);
    const response = await (body === undefined ? pending : pending.send(body));
    const answer = { status: response.status, body: response.body };
    answers.push(answer);

    return answer;
  }

  function revoke(user: User, id: string): Promise<Answer> {
    return send(user, 'delete', `/api/api-keys/${id}`);
  }

  function rotate(user: User, id: string, gracePeriodSeconds = 0): Promise<Answer> {
    return send(user, 'post', `/api/api-keys/${id}/rotate`, { gracePeriodSeconds });
  }

  function suspend(user: User, id: string): Promise<Answer> {
    return send(user, 'post', `/api/api-keys/${id}/suspend`);
  }

  function reactivate(user: User, id: string): Promise<Answer> {
    return send(user, 'post', `/api/api-keys/${id}/reactivate`);
  }

  function setPermissions(user: User, id: string, permissions: string[]): Promise<Answer> {
    return send(user, 'put', `/api/api-keys/${id}/permissions`, { permissions });
  }

  async function createKeys(user: User, count: number, permissions = ['IDENTITY']) {
    const created = Array.from({ length: count }, (_, index) =>
      user.createKey({ name: `race ${index}`, permissions }),
    );

    return (await Promise.all(created)) as unknown as IssuedKey[];
  }

  async function keysOf(user: User): Promise<ApiKey[]> {
    const answer = await send(user, 'get', '/api/api-keys?limit=500');
    expect(answer.status).toBe(200);

    return answer.body.items;
  }

  async function keyOf(user: User, id: string): Promise<ApiKey> {
    const answer = await send(user, 'get', `/api/api-keys/${id}`);
    expect(answer.status).toBe(200);

    return answer.body;
  }

  async function me(plainTextKey: string): Promise<Answer> {
    const response = await t.http.get('/external/v1/me').set('X-API-Key', plainTextKey);
    const answer = { status: response.status, body: response.body };
    answers.push(answer);

    return answer;
  }

  function expectConflict(answer: Answer): void {
    expect(answer.status).toBe(409);
    expect(typeof answer.body.message).toBe('string');
    expect(answer.body.message).not.toBe('');
  }

  /** A suspend or reactivation of a key that is not revoked answers 200 with its state. */
  function expectOwnOutcome(answer: Answer, status: 'ACTIVE' | 'SUSPENDED'): void {
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe(status);
  }

  /** The user's keys are exactly the ones created plus one per successful rotation. */
  async function expectOnlyKeys(user: User, created: IssuedKey[], rotations: Answer[]) {
    const won = rotations.filter((answer) => answer.status === 201);
    const expected = [...created.map((key) => key.apiKey.id), ...won.map((a) => a.body.apiKey.id)];
    const listed = await keysOf(user);

    expect(listed.map((key) => key.id).sort()).toEqual(expected.sort());
    for (const answer of won) {
      const fresh = listed.find((key) => key.id === answer.body.apiKey.id);
      expect(fresh?.status).toBe('ACTIVE');
    }
  }

  describe('revoke against rotate', () => {
    it(
      'ends with the key revoked and either one replacement or none, with grace 0',
      async () => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 20);

        const races = await inWaves(
          created,
          async (key) => {
            const [revoked, rotated] = await Promise.all([
              revoke(user, key.apiKey.id),
              rotate(user, key.apiKey.id, 0),
            ]);

            return { key, revoked, rotated };
          },
          WAVE,
        );

        for (const { key, revoked, rotated } of races) {
          expect(revoked.status).toBe(200);
          expect(revoked.body.status).toBe('REVOKED');
          if (rotated.status === 201) {
            // The rotation went first and revoked the key; the revoke found it so.
            expect(rotated.body.previous.id).toBe(key.apiKey.id);
            expect(rotated.body.previous.status).toBe('REVOKED');
            expect(rotated.body.apiKey.status).toBe('ACTIVE');
            expect(rotated.body.apiKey.name).toBe(key.apiKey.name);
            expect(revoked.body.revokedAt).toBe(rotated.body.previous.revokedAt);
            expect((await me(rotated.body.plainTextKey)).status).toBe(200);
          } else {
            expectConflict(rotated);
          }
          const stored = await keyOf(user, key.apiKey.id);
          expect(stored.status).toBe('REVOKED');
          expect(stored.revokedAt).toBe(revoked.body.revokedAt);
          expect((await me(key.plainTextKey)).status).toBe(401);
        }
        await expectOnlyKeys(
          user,
          created,
          races.map((race) => race.rotated),
        );
      },
      RACE_TIMEOUT_MS,
    );

    it(
      'ends with the key revoked and either one replacement or none, with a grace period',
      async () => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 20);

        const races = await inWaves(
          created,
          async (key) => {
            const [revoked, rotated] = await Promise.all([
              revoke(user, key.apiKey.id),
              rotate(user, key.apiKey.id, 3600),
            ]);

            return { key, revoked, rotated };
          },
          WAVE,
        );

        for (const { key, revoked, rotated } of races) {
          expect(revoked.status).toBe(200);
          expect(revoked.body.status).toBe('REVOKED');
          if (rotated.status === 201) {
            expect(rotated.body.previous.id).toBe(key.apiKey.id);
            expect(rotated.body.previous.status).toBe('ACTIVE');
            expect(rotated.body.previous.expiresAt).not.toBeNull();
            expect((await me(rotated.body.plainTextKey)).status).toBe(200);
          } else {
            expectConflict(rotated);
          }
          const stored = await keyOf(user, key.apiKey.id);
          expect(stored.status).toBe('REVOKED');
          expect(stored.revokedAt).toBe(revoked.body.revokedAt);
          expect((await me(key.plainTextKey)).status).toBe(401);
        }
        await expectOnlyKeys(
          user,
          created,
          races.map((race) => race.rotated),
        );
      },
      RACE_TIMEOUT_MS,
    );
  });

  describe('suspend against reactivate', () => {
    it(
      'ends ACTIVE or SUSPENDED, each answer telling its own outcome and the key working accordingly',
      async () => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 20);
        // Half start suspended, and every key is verified once so the cache knows it.
        await Promise.all(created.map((key) => me(key.plainTextKey)));
        await Promise.all(created.slice(0, 10).map((key) => suspend(user, key.apiKey.id)));

        const races = await Promise.all(
          created.map(async (key) => {
            const [suspended, reactivated] = await Promise.all([
              suspend(user, key.apiKey.id),
              reactivate(user, key.apiKey.id),
              me(key.plainTextKey),
            ]);

            return { key, suspended, reactivated };
          }),
        );

        for (const { key, suspended, reactivated } of races) {
          expectOwnOutcome(suspended, 'SUSPENDED');
          expectOwnOutcome(reactivated, 'ACTIVE');
          // A request that found nothing to do can only have lost to the other one.
          expect([suspended.status, reactivated.status]).toContain(200);
          const stored = await keyOf(user, key.apiKey.id);
          if (suspended.status === 409) expect(stored.status).toBe('ACTIVE');
          if (reactivated.status === 409) expect(stored.status).toBe('SUSPENDED');
          expect(['ACTIVE', 'SUSPENDED']).toContain(stored.status);
          expect(stored.revokedAt).toBeNull();
          const identified = await me(key.plainTextKey);
          expect(identified.status).toBe(stored.status === 'ACTIVE' ? 200 : 401);
        }
        await expectOnlyKeys(user, created, []);
      },
      RACE_TIMEOUT_MS,
    );

    it(
      'stays consistent through 30 interleaved suspends and reactivations of one key',
      async () => {
        const user = await newUser(t.http);
        const [key] = await createKeys(user, 1);

        const settled = await Promise.all(
          Array.from({ length: 30 }, (_, index) =>
            index % 3 === 2
              ? me(key.plainTextKey)
              : index % 3 === 0
                ? suspend(user, key.apiKey.id)
                : reactivate(user, key.apiKey.id),
          ),
        );

        settled.forEach((answer, index) => {
          if (index % 3 === 2) {
            expect([200, 401]).toContain(answer.status);
          } else {
            expectOwnOutcome(answer, index % 3 === 0 ? 'SUSPENDED' : 'ACTIVE');
          }
        });
        const stored = await keyOf(user, key.apiKey.id);
        expect(['ACTIVE', 'SUSPENDED']).toContain(stored.status);
        expect((await me(key.plainTextKey)).status).toBe(stored.status === 'ACTIVE' ? 200 : 401);
        await expectOnlyKeys(user, [key], []);
      },
      RACE_TIMEOUT_MS,
    );
  });

  describe('concurrent rotations', () => {
    it.each([0, 60])(
      'let exactly one of ten rotations of a key win (grace %i s)',
      async (grace) => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 5);
        const races: { key: IssuedKey; rotated: Answer[] }[] = [];

        // One key at a time: the ten rotations of a key race each other.
        for (const key of created) {
          const rotations = Array.from({ length: 10 }, () => rotate(user, key.apiKey.id, grace));
          races.push({ key, rotated: await Promise.all(rotations) });
        }

        for (const { key, rotated } of races) {
          const won = rotated.filter((answer) => answer.status === 201);
          expect(won).toHaveLength(1);
          rotated.filter((answer) => answer.status !== 201).forEach(expectConflict);
          const [winner] = won;
          expect(winner.body.previous.id).toBe(key.apiKey.id);
          expect(winner.body.previous.status).toBe(grace === 0 ? 'REVOKED' : 'ACTIVE');
          expect((await me(winner.body.plainTextKey)).status).toBe(200);
          expect((await me(key.plainTextKey)).status).toBe(grace === 0 ? 401 : 200);
        }
        await expectOnlyKeys(
          user,
          created,
          races.flatMap((race) => race.rotated),
        );
      },
      RACE_TIMEOUT_MS,
    );

    it(
      'let exactly one of two rotations win, for each of 20 keys',
      async () => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 20);

        const races = await inWaves(
          created,
          (key) => Promise.all([rotate(user, key.apiKey.id), rotate(user, key.apiKey.id)]),
          WAVE,
        );

        for (const rotated of races) {
          expect(rotated.filter((answer) => answer.status === 201)).toHaveLength(1);
          rotated.filter((answer) => answer.status !== 201).forEach(expectConflict);
        }
        await expectOnlyKeys(user, created, races.flat());
      },
      RACE_TIMEOUT_MS,
    );
  });

  describe('concurrent revokes', () => {
    it(
      'all answer 200 with one and the same revokedAt',
      async () => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 6);
        await Promise.all(created.slice(0, 3).map((key) => suspend(user, key.apiKey.id)));

        const races = await Promise.all(
          created.map(async (key) => {
            const revokes = Array.from({ length: 10 }, () => revoke(user, key.apiKey.id));

            return { key, revoked: await Promise.all(revokes) };
          }),
        );

        for (const { key, revoked } of races) {
          for (const answer of revoked) {
            expect(answer.status).toBe(200);
            expect(answer.body.status).toBe('REVOKED');
          }
          const times = new Set(revoked.map((answer) => answer.body.revokedAt));
          expect(times.size).toBe(1);
          const stored = await keyOf(user, key.apiKey.id);
          expect(stored.revokedAt).toBe(revoked[0].body.revokedAt);
          expect((await me(key.plainTextKey)).status).toBe(401);
        }
        await expectOnlyKeys(user, created, []);
      },
      RACE_TIMEOUT_MS,
    );
  });

  describe('permission changes', () => {
    const SETS = [
      ['IDENTITY'],
      ['IDENTITY', 'READ_GRAPH'],
      ['READ_GRAPH', 'WRITE_GRAPH'],
      ['IDENTITY', 'EXECUTE_GRAPH', 'READ_STORE'],
      ['USE_TOOLS'],
      ['DELETE_INTEGRATIONS', 'IDENTITY', 'READ_INTEGRATIONS', 'MANAGE_INTEGRATIONS'],
    ];

    it(
      'end with one of the requested sets, which the key then has on the external API',
      async () => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 10);
        await Promise.all(created.map((key) => me(key.plainTextKey)));

        const races = await Promise.all(
          created.map(async (key) => {
            const changes = SETS.map((set) => setPermissions(user, key.apiKey.id, set));

            return { key, changed: await Promise.all(changes) };
          }),
        );

        for (const { key, changed } of races) {
          changed.forEach((answer, index) => {
            expect(answer.status).toBe(200);
            expect(answer.body.permissions).toEqual(SETS[index]);
          });
          const stored = await keyOf(user, key.apiKey.id);
          expect(SETS).toContainEqual(stored.permissions);
          const identified = await me(key.plainTextKey);
          if (stored.permissions.includes('IDENTITY')) {
            expect(identified.status).toBe(200);
            expect(identified.body.permissions).toEqual(stored.permissions);
          } else {
            expect(identified.status).toBe(403);
            expect(identified.body.message).toContain('IDENTITY');
          }
        }
        await expectOnlyKeys(user, created, []);
      },
      RACE_TIMEOUT_MS,
    );

    it(
      'racing a rotation, reach the new key exactly when they were applied first',
      async () => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 20);
        const requested = ['IDENTITY', 'READ_BLOCK'];

        const races = await inWaves(
          created,
          async (key) => {
            const [rotated, changed] = await Promise.all([
              rotate(user, key.apiKey.id, 0),
              setPermissions(user, key.apiKey.id, requested),
            ]);

            return { rotated, changed };
          },
          WAVE,
        );

        for (const { rotated, changed } of races) {
          expect(rotated.status).toBe(201);
          if (changed.status === 200) {
            expect(changed.body.permissions).toEqual(requested);
            expect(rotated.body.apiKey.permissions).toEqual(requested);
          } else {
            expectConflict(changed);
            expect(rotated.body.apiKey.permissions).toEqual(['IDENTITY']);
          }
          const fresh = await keyOf(user, rotated.body.apiKey.id);
          expect(fresh.permissions).toEqual(rotated.body.apiKey.permissions);
        }
        await expectOnlyKeys(
          user,
          created,
          races.map((race) => race.rotated),
        );
      },
      RACE_TIMEOUT_MS,
    );
  });

  describe('every operation at once', () => {
    it(
      'leaves each key revoked, with at most one replacement and every answer consistent',
      async () => {
        const user = await newUser(t.http);
        const created = await createKeys(user, 3);
        const operations = [
          (id: string) => suspend(user, id),
          (id: string) => reactivate(user, id),
          (id: string) => rotate(user, id, 0),
          (id: string) => setPermissions(user, id, ['IDENTITY', 'USE_TOOLS']),
          (id: string) => revoke(user, id),
        ];

        const races = await Promise.all(
          created.map(async (key) => {
            const requests = Array.from({ length: 30 }, (_, index) =>
              operations[index % operations.length](key.apiKey.id),
            );

            return { key, settled: await Promise.all(requests) };
          }),
        );

        const rotations: Answer[] = [];
        for (const { key, settled } of races) {
          settled.forEach((answer, index) => {
            const operation = index % operations.length;
            if (answer.status === 409) return expectConflict(answer);
            if (operation === 2) {
              expect(answer.status).toBe(201);
              rotations.push(answer);

              return;
            }
            expect(answer.status).toBe(200);
            const expected = ['SUSPENDED', 'ACTIVE', undefined, undefined, 'REVOKED'][operation];
            if (expected) expect(answer.body.status).toBe(expected);
            if (operation === 3) expect(answer.body.permissions).toEqual(['IDENTITY', 'USE_TOOLS']);
          });
          const revokes = settled.filter((_, index) => index % operations.length === 4);
          expect(revokes.map((answer) => answer.status)).toEqual(revokes.map(() => 200));
          const stored = await keyOf(user, key.apiKey.id);
          expect(stored.status).toBe('REVOKED');
          expect(new Set(revokes.map((answer) => answer.body.revokedAt))).toEqual(
            new Set([stored.revokedAt]),
          );
          const won = settled.filter((answer) => answer.status === 201);
          expect(won.length).toBeLessThanOrEqual(1);
        }
        await expectOnlyKeys(user, created, rotations);
      },
      RACE_TIMEOUT_MS,
    );
  });
});
