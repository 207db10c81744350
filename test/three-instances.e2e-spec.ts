import { validateCronExpression } from 'cron';

import { readMigrations } from '../src/database/migrator.js';
import { newUser, scryptDerivations, startTestApp, TestApp, tokenFor } from './support/app.js';
import { query } from './support/db.js';
import { createFreshDatabase, dropFreshDatabase } from './support/fresh-database.js';
import { autogptVectors } from './support/fixtures.js';
import { sleep } from './support/wait.js';

const ME = '/external/v1/me';
const EVERY_SECOND = '* * * * * *';

const fixtureRows = autogptVectors().map((vector) => vector.row);

/**
 * Every app this file starts. nestjs-pino writes the lines of every app in one process to
 * the destination of the first app created there, so search all captures, not one.
 */
const everyApp: TestApp[] = [];

interface LogLine {
  time: number;
  msg?: string;
}

/**
 * Starts three instances on one database at the same time. Throws if any fails to start,
 * after closing those that did.
 */
async function startThree(env: NodeJS.ProcessEnv): Promise<TestApp[]> {
  const outcomes = await Promise.allSettled([1, 2, 3].map(() => startTestApp(env)));
  const started = outcomes.flatMap((outcome) =>
    outcome.status === 'fulfilled' ? [outcome.value] : [],
  );
  everyApp.push(...started);
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((t) => t.close()));
    throw failed.reason;
  }

  return started;
}

describe('three instances started together on an empty database', () => {
  let url: string | undefined;
  let instances: TestApp[] = [];

  beforeAll(async () => {
    url = await createFreshDatabase({ migrate: false });
    instances = await startThree({ DATABASE_URL: url });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(instances.map((t) => t.close()));
    if (url) await dropFreshDatabase(url);
  }, 60_000);

  /** A fresh key of a fresh user, used once on every instance so that each caches it. */
  async function keyCachedOnAll(permissions: string[] = ['IDENTITY']) {
    const user = await newUser(instances[0]!.http);
    const { apiKey, plainTextKey } = await user.createKey({ permissions });
    for (const t of instances) await t.http.get(ME).set('X-API-Key', plainTextKey).expect(200);

    return { user, id: apiKey.id, key: plainTextKey };
  }

  it('all start and answer ready', async () => {
    expect(instances).toHaveLength(3);

    for (const t of instances) await t.http.get('/health/ready').expect(200);
  });

  it('records each migration exactly once', async () => {
    const expected = (await readMigrations()).map((migration) => migration.name);

    const rows = await query<{ name: string; times: number; finished: number }>(
      `SELECT migration_name AS name, count(*)::int AS times,
              count(finished_at)::int AS finished
       FROM "_prisma_migrations" GROUP BY migration_name ORDER BY migration_name`,
      [],
      url!,
    );

    expect(rows).toEqual(expected.map((name) => ({ name, times: 1, finished: 1 })));
  });

  it('serves a key verified once on each instance from each cache', async () => {
    const { key } = await keyCachedOnAll();
    const before = await Promise.all(instances.map(scryptDerivations));

    for (const t of instances) await t.http.get(ME).set('X-API-Key', key).expect(200);

    expect(await Promise.all(instances.map(scryptDerivations))).toEqual(before);
  });

  it('refuses a key revoked through one instance on the other two on the very next request', async () => {
    const { user, id, key } = await keyCachedOnAll();

    await instances[1]!.http.delete(`/api/api-keys/${id}`).set(user.auth).expect(200);

    for (const t of [instances[0]!, instances[2]!]) {
      const response = await t.http.get(ME).set('X-API-Key', key);
      expect(response.status).toBe(401);
      expect(response.body.message).toBe('Invalid API key');
    }
  });

  it('answers 403 on the other two on the very next request after a permission change', async () => {
    const { user, id, key } = await keyCachedOnAll(['IDENTITY', 'READ_GRAPH']);

    await instances[2]!.http
      .put(`/api/api-keys/${id}/permissions`)
      .set(user.auth)
      .send({ permissions: ['READ_GRAPH'] })
      .expect(200);

    for (const t of [instances[0]!, instances[1]!]) {
      const response = await t.http.get(ME).set('X-API-Key', key);
      expect(response.status).toBe(403);
      expect(response.body.message).toContain('IDENTITY');
      expect(response.body.message).not.toContain('READ_GRAPH');
    }
  });
});

describe('the legacy key sweep on three instances scheduled every second', () => {
  let url: string | undefined;
  let instances: TestApp[] = [];
  const legacyRows = fixtureRows.filter((row) => row.salt === null).length;

  beforeAll(async () => {
    url = await createFreshDatabase();
    instances = await startThree({
      DATABASE_URL: url,
      LEGACY_KEY_SWEEP_CRON: EVERY_SECOND,
      LEGACY_KEY_REPORT_HISTORY: '100000',
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(instances.map((t) => t.close()));
    if (url) await dropFreshDatabase(url);
  }, 60_000);

  it('takes a six-field cron expression, seconds first', () => {
    expect(validateCronExpression(EVERY_SECOND)).toEqual({ valid: true });
  });

  it('sweeps on one instance per tick while the others skip it', async () => {
    const admin = await tokenFor('sweep-admin', { admin: true });
    const imported = await instances[0]!.http
      .post('/api/admin/api-keys/import')
      .set('Authorization', `Bearer ${admin}`)
      .send({ keys: fixtureRows })
      .expect(200);
    expect(imported.body).toEqual({ imported: fixtureRows.length, skipped: 0 });
    // Each instance also sweeps once as it starts; only scheduled ticks are counted, from the
    // first whole second after the import.
    const from = new Date(Math.ceil(Date.now() / 1000) * 1000);
    const until = from.getTime() + 3500;

    await sleep(until - Date.now());

    const seconds = await query<{ second: Date; reports: number; totals: number[] }>(
      `SELECT date_trunc('second', "generatedAt") AS second, count(*)::int AS reports,
              array_agg(total ORDER BY "generatedAt") AS totals
       FROM legacy_key_reports WHERE "generatedAt" >= $1
       GROUP BY 1 ORDER BY 1`,
      [from],
      url!,
    );
    expect(seconds.length).toBeGreaterThanOrEqual(2);
    expect(seconds.filter((second) => second.reports > 1)).toEqual([]);
    expect(seconds.flatMap((second) => second.totals)).toEqual(seconds.map(() => legacyRows));
    const logs = everyApp.flatMap((t) => t.logs.lines).map((line) => JSON.parse(line) as LogLine);
    const inWindow = logs.filter((line) => line.time >= from.getTime() && line.time < until);
    const skips = inWindow.filter((line) => line.msg?.startsWith('Skipped the legacy key sweep'));
    expect(skips.length).toBeGreaterThanOrEqual(seconds.length);
    expect(logs.filter((line) => line.msg?.startsWith('Legacy key sweep failed'))).toEqual([]);
  }, 30_000);
});
