import { createHash, randomBytes, randomUUID } from 'node:crypto';

import pg from 'pg';

import type { LegacyKeyReport } from '../src/legacy-keys/legacy-key-report.js';
import { LegacyKeysService } from '../src/legacy-keys/legacy-keys.service.js';
import { newUser, newUserId, startTestApp, TestApp, tokenFor } from './support/app.js';
import { createFreshDatabase, dropFreshDatabase } from './support/fresh-database.js';
import { query as queryOn } from './support/db.js';
import { AutogptRow, AutogptVector, autogptVectors } from './support/fixtures.js';

type ImportRow = AutogptRow;
type Vector = AutogptVector;

const vectors = autogptVectors();
const fixtureRows = vectors.map((vector) => vector.row);
const legacyVectors = vectors.filter((vector) => vector.row.salt === null);
const scryptVectors = vectors.filter((vector) => vector.row.salt !== null);
const legacyOldestFirst = [...legacyVectors].sort((a, b) =>
  a.row.createdAt.localeCompare(b.row.createdAt),
);

/** The advisory lock the sweep takes (SWEEP_LOCK_ID in legacy-keys.repository.ts). */
const SWEEP_LOCK_ID = 72_707_370;
const DAY_MS = 24 * 60 * 60 * 1000;
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const IMPORT = '/api/admin/api-keys/import';
const REPORT = '/api/admin/legacy-keys/report';
const REPORTS = '/api/admin/legacy-keys/reports';
const SWEEP = '/api/admin/legacy-keys/sweep';

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A legacy key no other test has: its plaintext and its AutoGPT row (SHA-256, no salt). */
function newLegacyKey(overrides: Partial<ImportRow> = {}): Vector {
  const plaintext = `agpt_${randomBytes(32).toString('base64url')}`;
  const row: ImportRow = {
    id: randomUUID(),
    userId: newUserId(),
    name: 'imported key',
    head: plaintext.slice(0, 8),
    tail: plaintext.slice(-8),
    hash: sha256(plaintext),
    salt: null,
    permissions: ['IDENTITY'],
    status: 'ACTIVE',
    description: null,
    createdAt: '2025-03-01T00:00:00.000Z',
    lastUsedAt: null,
    revokedAt: null,
    ...overrides,
  };

  return { plaintext, row };
}

/** `query` of the support module, with the database first as this file's calls read. */
function query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
  databaseUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<Row[]> {
  return queryOn<Row>(sql, params, databaseUrl);
}

async function countOf(databaseUrl: string, table: string): Promise<number> {
  const [{ count }] = await query<{ count: number }>(
    databaseUrl,
    `SELECT count(*)::int AS count FROM "${table}"`,
  );

  return count;
}

async function statusOf(databaseUrl: string, id: string): Promise<string | undefined> {
  const rows = await query<{ status: string }>(
    databaseUrl,
    'SELECT status FROM api_keys WHERE id = $1',
    [id],
  );

  return rows[0]?.status;
}

/** Inserts a legacy key row directly, as a database would hold it. */
async function insertLegacyKey(databaseUrl: string, row: ImportRow): Promise<void> {
  await query(
    databaseUrl,
    `INSERT INTO api_keys
       (id, "userId", name, head, tail, hash, salt, status, permissions, "createdAt", "lastUsedAt")
     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8::"APIKeyPermission"[], $9, $10)`,
    [
      row.id,
      row.userId,
      row.name,
      row.head,
      row.tail,
      row.hash,
      row.status,
      row.permissions,
      row.createdAt,
      row.lastUsedAt,
    ],
  );
}

/** Polls until `condition` holds; fails the test if it never does. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await condition()) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`Gave up waiting until ${what}`);
}

/** An app of its own on a database of its own, with an admin token. */
interface Isolated {
  t: TestApp;
  databaseUrl: string;
  admin: { Authorization: string };
}

/** `seed` fills the database before the app starts, for what the app does at start. */
async function startIsolated(
  env: NodeJS.ProcessEnv = {},
  seed: (databaseUrl: string) => Promise<void> = async () => {},
): Promise<Isolated> {
  const databaseUrl = await createFreshDatabase();
  await seed(databaseUrl);
  const t = await startTestApp({ DATABASE_URL: databaseUrl, ...env });
  const token = await tokenFor(newUserId(), { admin: true });

  return { t, databaseUrl, admin: { Authorization: `Bearer ${token}` } };
}

async function stopIsolated(isolated: Isolated | undefined): Promise<void> {
  if (!isolated) return;
  await isolated.t.close();
  await dropFreshDatabase(isolated.databaseUrl);
}

async function importFixture({ t, admin }: Isolated): Promise<void> {
  await t.http.post(IMPORT).set(admin).send({ keys: fixtureRows }).expect(200);
}

async function sweep({ t, admin }: Isolated): Promise<LegacyKeyReport> {
  const response = await t.http.post(SWEEP).set(admin).expect(200);

  return response.body as LegacyKeyReport;
}

/** The report's entry for a fixture key, as the contract describes it. */
function summaryOf({ row }: Vector) {
  return {
    id: row.id,
    userId: row.userId,
    name: row.name,
    head: row.head,
    status: row.status,
    createdAt: new Date(row.createdAt).toISOString(),
    lastUsedAt: null,
  };
}

describe('importing AutoGPT keys (POST /api/admin/api-keys/import)', () => {
  let s: Isolated;

  beforeAll(async () => {
    s = await startIsolated();
  });

  afterAll(async () => {
    await stopIsolated(s);
  });

  it('imports the six fixture rows, then skips all six when they come again', async () => {
    const first = await s.t.http.post(IMPORT).set(s.admin).send({ keys: fixtureRows }).expect(200);

    expect(first.body).toEqual({ imported: 6, skipped: 0 });

    const second = await s.t.http.post(IMPORT).set(s.admin).send({ keys: fixtureRows }).expect(200);

    expect(second.body).toEqual({ imported: 0, skipped: 6 });
  });

  it('stores a legacy row as AutoGPT had it, and its key then opens the external API', async () => {
    const key = newLegacyKey({ permissions: ['IDENTITY', 'READ_GRAPH'] });

    await s.t.http
      .post(IMPORT)
      .set(s.admin)
      .send({ keys: [key.row] })
      .expect(200);

    const [stored] = await query(
      s.databaseUrl,
      'SELECT "userId", head, tail, hash, salt, status, permissions::text[] AS permissions, ' +
        '"createdAt" FROM api_keys WHERE id = $1',
      [key.row.id],
    );
    expect(stored).toEqual({
      userId: key.row.userId,
      head: key.row.head,
      tail: key.row.tail,
      hash: key.row.hash,
      salt: null,
      status: 'ACTIVE',
      permissions: ['IDENTITY', 'READ_GRAPH'],
      createdAt: new Date(key.row.createdAt),
    });

    const me = await s.t.http.get('/external/v1/me').set('X-API-Key', key.plaintext).expect(200);

    expect(me.body).toEqual({
      userId: key.row.userId,
      keyId: key.row.id,
      permissions: ['IDENTITY', 'READ_GRAPH'],
    });
  });

  it('imports the new rows of a file and skips those already present', async () => {
    const present = newLegacyKey();
    const fresh = newLegacyKey();
    await s.t.http
      .post(IMPORT)
      .set(s.admin)
      .send({ keys: [present.row] })
      .expect(200);

    const response = await s.t.http
      .post(IMPORT)
      .set(s.admin)
      .send({ keys: [present.row, fresh.row] })
      .expect(200);

    expect(response.body).toEqual({ imported: 1, skipped: 1 });
    await expect(statusOf(s.databaseUrl, fresh.row.id)).resolves.toBe('ACTIVE');
  });

  it('skips a row whose hash is already stored under another id', async () => {
    const original = newLegacyKey();
    const sameHash = { ...original.row, id: randomUUID() };
    await s.t.http
      .post(IMPORT)
      .set(s.admin)
      .send({ keys: [original.row] })
      .expect(200);

    const response = await s.t.http
      .post(IMPORT)
      .set(s.admin)
      .send({ keys: [sameHash] })
      .expect(200);

    expect(response.body).toEqual({ imported: 0, skipped: 1 });
    await expect(statusOf(s.databaseUrl, sameHash.id)).resolves.toBeUndefined();
  });

  it('answers 400 naming keys.2.hash for a bad hash at index 2, and imports no row', async () => {
    const rows = [newLegacyKey().row, newLegacyKey().row, newLegacyKey({ hash: 'not-a-hash' }).row];
    const before = await countOf(s.databaseUrl, 'api_keys');

    const response = await s.t.http.post(IMPORT).set(s.admin).send({ keys: rows }).expect(400);

    expect(response.body.message).toEqual(['keys.2.hash must be 64 hexadecimal characters']);
    await expect(countOf(s.databaseUrl, 'api_keys')).resolves.toBe(before);
  });

  it('answers 400 naming each invalid field of a row', async () => {
    const row = newLegacyKey({ status: 'EXPIRED' as ImportRow['status'], createdAt: 'yesterday' });

    const response = await s.t.http
      .post(IMPORT)
      .set(s.admin)
      .send({ keys: [row.row] })
      .expect(400);

    const messages = response.body.message as string[];
    expect(messages).toContainEqual(expect.stringMatching(/^keys\.0\.status must be one of/));
    expect(messages).toContainEqual(expect.stringMatching(/^keys\.0\.createdAt /));
  });

  it('answers 400 to more than 1000 rows, and imports none', async () => {
    // Empty rows keep 1001 of them under the body limit; the count is refused first.
    const keys = Array.from({ length: 1001 }, () => ({}));
    const before = await countOf(s.databaseUrl, 'api_keys');

    const response = await s.t.http.post(IMPORT).set(s.admin).send({ keys }).expect(400);

    expect(response.body.message).toContain('keys must contain no more than 1000 elements');
    await expect(countOf(s.databaseUrl, 'api_keys')).resolves.toBe(before);
  });

  it('answers 400 to an empty list', async () => {
    const response = await s.t.http.post(IMPORT).set(s.admin).send({ keys: [] }).expect(400);

    expect(response.body.message).toContain('keys must contain at least 1 elements');
  });

  it('answers 403 to a user who is not an admin, and imports nothing', async () => {
    const user = await newUser(s.t.http);
    const key = newLegacyKey();

    const response = await s.t.http
      .post(IMPORT)
      .set(user.auth)
      .send({ keys: [key.row] });

    expect(response.status).toBe(403);
    await expect(statusOf(s.databaseUrl, key.row.id)).resolves.toBeUndefined();
  });

  it.each([
    ['POST', IMPORT],
    ['GET', REPORT],
    ['GET', REPORTS],
    ['POST', SWEEP],
  ])('answers 403 on %s %s to a user who is not an admin', async (method, path) => {
    const user = await newUser(s.t.http);
    const call = method === 'GET' ? s.t.http.get(path) : s.t.http.post(path);

    const response = await call.set(user.auth).send(method === 'POST' ? { keys: [] } : undefined);

    expect(response.status).toBe(403);
    expect(response.body.message).toBe('This route is for admins only');
  });

  it.each([
    ['POST', IMPORT],
    ['GET', REPORT],
    ['GET', REPORTS],
    ['POST', SWEEP],
  ])('answers 401 on %s %s without a token', async (method, path) => {
    const call = method === 'GET' ? s.t.http.get(path) : s.t.http.post(path);

    const response = await call;

    expect(response.status).toBe(401);
  });
});

describe('the legacy key report before any sweep', () => {
  let s: Isolated;

  beforeAll(async () => {
    s = await startIsolated();
    await importFixture(s);
  });

  afterAll(async () => {
    await stopIsolated(s);
  });

  it('sweeps on the first GET when there is no report yet, then answers that report', async () => {
    await expect(countOf(s.databaseUrl, 'legacy_key_reports')).resolves.toBe(0);

    const first = await s.t.http.get(REPORT).set(s.admin).expect(200);

    await expect(countOf(s.databaseUrl, 'legacy_key_reports')).resolves.toBe(1);

    const second = await s.t.http.get(REPORT).set(s.admin).expect(200);

    expect(second.body).toEqual(first.body);
    await expect(countOf(s.databaseUrl, 'legacy_key_reports')).resolves.toBe(1);
  });

  it('lists the three legacy fixture keys oldest first, with their counts', async () => {
    const response = await s.t.http.get(REPORT).set(s.admin).expect(200);

    expect(response.body).toEqual({
      generatedAt: expect.stringMatching(ISO_DATE),
      total: 3,
      byStatus: { ACTIVE: 3, SUSPENDED: 0, REVOKED: 0 },
      neverUsed: 3,
      oldestCreatedAt: '2025-06-09T00:00:00.000Z',
      suspendedByPolicy: 0,
      keys: legacyOldestFirst.map(summaryOf),
    });
  });

  it('counts no scrypt key', async () => {
    const response = await s.t.http.get(REPORT).set(s.admin).expect(200);
    const listed = (response.body as LegacyKeyReport).keys.map((key) => key.id);

    for (const { row } of scryptVectors) expect(listed).not.toContain(row.id);
  });

  it('never contains a hash, a salt or a tail', async () => {
    const response = await s.t.http.get(REPORT).set(s.admin).expect(200);

    expect(response.text).not.toMatch(/"(hash|salt|tail)"/);
    for (const { row } of vectors) expect(response.text).not.toContain(row.hash);
  });
});

describe('sweeping while legacy keys migrate', () => {
  let s: Isolated;

  beforeAll(async () => {
    s = await startIsolated();
    await importFixture(s);
  });

  afterAll(async () => {
    await stopIsolated(s);
  });

  it('stops counting a legacy key once its first use re-hashes it with scrypt', async () => {
    const used = legacyVectors[0];
    const before = await sweep(s);

    expect(before.total).toBe(3);

    const me = await s.t.http.get('/external/v1/me').set('X-API-Key', used.plaintext).expect(200);

    expect(me.body).toEqual({
      userId: used.row.userId,
      keyId: used.row.id,
      permissions: used.row.permissions,
    });
    const [stored] = await query(s.databaseUrl, 'SELECT salt, hash FROM api_keys WHERE id = $1', [
      used.row.id,
    ]);
    expect(stored.salt).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.hash).not.toBe(used.row.hash);

    const after = await sweep(s);

    expect(after.total).toBe(2);
    expect(after.byStatus).toEqual({ ACTIVE: 2, SUSPENDED: 0, REVOKED: 0 });
    expect(after.keys.map((key) => key.id)).not.toContain(used.row.id);

    const latest = await s.t.http.get(REPORT).set(s.admin).expect(200);

    expect(latest.body).toEqual(after);
  });

  it('lists stored reports newest first', async () => {
    const older = await sweep(s);
    const newer = await sweep(s);

    const response = await s.t.http.get(REPORTS).set(s.admin).expect(200);
    const reports = response.body as LegacyKeyReport[];

    expect(reports.slice(0, 2)).toEqual([newer, older]);
    const times = reports.map((report) => report.generatedAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('answers as many reports as ?limit asks for', async () => {
    await sweep(s);
    const newest = await sweep(s);

    const response = await s.t.http.get(`${REPORTS}?limit=1`).set(s.admin).expect(200);

    expect(response.body).toEqual([newest]);
  });

  it('exports the counts of the last sweep as the legacy_api_keys gauge on /metrics', async () => {
    const report = await sweep(s);

    const metrics = await s.t.http.get('/metrics').expect(200);

    expect(metrics.text).toContain(`legacy_api_keys{status="ACTIVE"} ${report.byStatus.ACTIVE}`);
    expect(metrics.text).toContain(`legacy_api_keys{status="SUSPENDED"} 0`);
    expect(metrics.text).toContain(`legacy_api_keys{status="REVOKED"} 0`);
  });
});

describe('the report history size (LEGACY_KEY_REPORT_HISTORY)', () => {
  let s: Isolated;

  beforeAll(async () => {
    s = await startIsolated({ LEGACY_KEY_REPORT_HISTORY: '2' });
  });

  afterAll(async () => {
    await stopIsolated(s);
  });

  it('keeps only the newest reports', async () => {
    await sweep(s);
    const second = await sweep(s);
    const third = await sweep(s);

    const response = await s.t.http.get(`${REPORTS}?limit=10`).set(s.admin).expect(200);

    expect(response.body).toEqual([third, second]);
    await expect(countOf(s.databaseUrl, 'legacy_key_reports')).resolves.toBe(2);
  });
});

describe('the sweep lock shared by instances', () => {
  let s: Isolated;
  let holder: pg.Client;

  beforeAll(async () => {
    s = await startIsolated();
    await importFixture(s);
  });

  beforeEach(async () => {
    holder = new pg.Client({ connectionString: s.databaseUrl });
    await holder.connect();
  });

  afterEach(async () => {
    await holder.end();
  });

  afterAll(async () => {
    await stopIsolated(s);
  });

  /** Takes the sweep's lock in a transaction on another connection, as a second instance would. */
  async function holdSweepLock(): Promise<void> {
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1)', [SWEEP_LOCK_ID]);
  }

  async function sweepsWaitingForLock(): Promise<number> {
    const [{ waiting }] = await query<{ waiting: number }>(
      s.databaseUrl,
      `SELECT count(*)::int AS waiting FROM pg_locks
       WHERE locktype = 'advisory' AND objid = $1 AND NOT granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [SWEEP_LOCK_ID],
    );

    return waiting;
  }

  it('skips a sweep while another instance holds the lock, and runs once released', async () => {
    const service = s.t.app.get(LegacyKeysService);
    await holdSweepLock();
    const reportsBefore = await countOf(s.databaseUrl, 'legacy_key_reports');

    await expect(service.sweep({ wait: false })).resolves.toBeNull();
    await expect(countOf(s.databaseUrl, 'legacy_key_reports')).resolves.toBe(reportsBefore);

    await holder.query('COMMIT');
    const report = await service.sweep({ wait: false });

    expect(report).toMatchObject({ total: 3 });
    await expect(countOf(s.databaseUrl, 'legacy_key_reports')).resolves.toBe(reportsBefore + 1);
  });

  it('makes POST sweep wait for the lock, then answer a fresh report', async () => {
    await holdSweepLock();
    const lockedAt = new Date().toISOString();

    const answered = s.t.http
      .post(SWEEP)
      .set(s.admin)
      .then((response) => response);
    await eventually(async () => (await sweepsWaitingForLock()) === 1, 'the sweep waits');
    await holder.query('COMMIT');
    const response = await answered;

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ total: 3 });
    expect(response.body.generatedAt >= lockedAt).toBe(true);
  });
});

describe('the suspension policy (LEGACY_KEY_SUSPEND_AFTER_DAYS=30)', () => {
  let s: Isolated;
  const now = Date.now();
  const usedToday = newLegacyKey({
    createdAt: '2025-01-01T00:00:00.000Z',
    lastUsedAt: new Date(now).toISOString(),
  });
  const usedLongAgo = newLegacyKey({
    createdAt: '2025-01-01T00:00:00.000Z',
    lastUsedAt: new Date(now - 40 * DAY_MS).toISOString(),
  });
  const madeYesterday = newLegacyKey({ createdAt: new Date(now - DAY_MS).toISOString() });
  const revokedLongAgo = newLegacyKey({ status: 'REVOKED', createdAt: '2025-01-01T00:00:00.000Z' });

  beforeAll(async () => {
    s = await startIsolated({ LEGACY_KEY_SUSPEND_AFTER_DAYS: '30' });
    await importFixture(s);
    for (const key of [usedToday, usedLongAgo, madeYesterday, revokedLongAgo]) {
      await insertLegacyKey(s.databaseUrl, key.row);
    }
  });

  afterAll(async () => {
    await stopIsolated(s);
  });

  it('suspends only active legacy keys unused for over 30 days, and deletes nothing', async () => {
    const rowsBefore = await countOf(s.databaseUrl, 'api_keys');
    const idle = [...legacyVectors.map(({ row }) => row), usedLongAgo.row];

    const report = await sweep(s);

    expect(report.suspendedByPolicy).toBe(4);
    expect(report.byStatus).toEqual({ ACTIVE: 2, SUSPENDED: 4, REVOKED: 1 });
    expect(report.total).toBe(7);
    for (const row of idle)
      await expect(statusOf(s.databaseUrl, row.id)).resolves.toBe('SUSPENDED');
    for (const { row } of scryptVectors) {
      await expect(statusOf(s.databaseUrl, row.id)).resolves.toBe('ACTIVE');
    }
    await expect(statusOf(s.databaseUrl, usedToday.row.id)).resolves.toBe('ACTIVE');
    await expect(statusOf(s.databaseUrl, madeYesterday.row.id)).resolves.toBe('ACTIVE');
    await expect(statusOf(s.databaseUrl, revokedLongAgo.row.id)).resolves.toBe('REVOKED');
    await expect(countOf(s.databaseUrl, 'api_keys')).resolves.toBe(rowsBefore);
  });

  it('lists suspended keys in the report with their new status', async () => {
    const response = await s.t.http.get(REPORT).set(s.admin).expect(200);
    const listed = (response.body as LegacyKeyReport).keys;

    const oldestFixtureKey = listed.find((key) => key.id === legacyOldestFirst[0].row.id);
    expect(oldestFixtureKey?.status).toBe('SUSPENDED');
  });

  it('refuses a suspended legacy key on the external API', async () => {
    const [suspended] = legacyVectors;

    await s.t.http.get('/external/v1/me').set('X-API-Key', suspended.plaintext).expect(401);
  });

  it('suspends no key twice', async () => {
    const report = await sweep(s);

    expect(report.suspendedByPolicy).toBe(0);
    expect(report.byStatus.SUSPENDED).toBe(4);
  });
});

describe('the scheduled sweep (LEGACY_KEY_SWEEP_CRON)', () => {
  let s: Isolated;
  const key = newLegacyKey();

  beforeAll(async () => {
    // Once a year: only the sweep the app runs at start can happen during the test.
    s = await startIsolated({ LEGACY_KEY_SWEEP_CRON: '0 0 1 1 *' }, async (databaseUrl) => {
      await insertLegacyKey(databaseUrl, key.row);
    });
  });

  afterAll(async () => {
    await stopIsolated(s);
  });

  it('sweeps once when the app starts, storing and exporting the report', async () => {
    await eventually(
      async () => (await countOf(s.databaseUrl, 'legacy_key_reports')) === 1,
      'the sweep at start stored its report',
    );

    const response = await s.t.http.get(REPORT).set(s.admin).expect(200);

    expect(response.body).toMatchObject({ total: 1, keys: [{ id: key.row.id }] });

    const metrics = await s.t.http.get('/metrics').expect(200);
    expect(metrics.text).toContain('legacy_api_keys{status="ACTIVE"} 1');
  });
});

describe('the query plan of the sweep', () => {
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await createFreshDatabase();
    await query(
      databaseUrl,
      `INSERT INTO api_keys (id, "userId", name, head, tail, hash, salt, permissions, "createdAt")
       SELECT gen_random_uuid(), 'bulk-user-' || (g % 500), 'bulk key',
              'agpt_' || substr(md5(g::text), 1, 11), 'tailtail',
              md5('hash' || g) || md5('more' || g), md5('salt' || g) || md5('pepper' || g),
              ARRAY['IDENTITY']::"APIKeyPermission"[], now() - g * interval '1 minute'
       FROM generate_series(1, 20000) AS g`,
    );
    for (let index = 0; index < 5; index++) {
      await insertLegacyKey(databaseUrl, newLegacyKey().row);
    }
    await query(databaseUrl, 'ANALYZE api_keys');
  });

  afterAll(async () => {
    if (databaseUrl) await dropFreshDatabase(databaseUrl);
  });

  async function planOf(sql: string): Promise<string> {
    const rows = await query<{ 'QUERY PLAN': string }>(databaseUrl, `EXPLAIN ${sql}`);

    return rows.map((row) => row['QUERY PLAN']).join('\n');
  }

  it('reads the oldest legacy keys through the partial index, not a sequential scan', async () => {
    const plan = await planOf(
      `SELECT id, "userId", name, head, status, "createdAt", "lastUsedAt"
       FROM api_keys WHERE salt IS NULL ORDER BY "createdAt", id LIMIT 100`,
    );

    expect(plan).toContain('api_keys_legacy_createdAt_id_idx');
    expect(plan).not.toContain('Seq Scan');
  });

  it('counts legacy keys by status through the partial index, not a sequential scan', async () => {
    const plan = await planOf(
      `SELECT status, count(*) FROM api_keys WHERE salt IS NULL GROUP BY status`,
    );

    expect(plan).toContain('api_keys_legacy_createdAt_id_idx');
    expect(plan).not.toContain('Seq Scan');
  });
});
