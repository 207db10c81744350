import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { createApp } from '../src/bootstrap.js';
import {
  freePort,
  RunningPostgres,
  startEmbeddedPostgres,
} from '../src/database/embedded-postgres.js';
import { applyMigrations } from '../src/database/migrator.js';
import {
  LogCapture,
  newUser,
  scryptDerivations,
  startTestApp,
  TEST_JWT_SECRET,
  TestApp,
  testConfig,
} from './support/app.js';
import { query, removeDir, tempDataDir } from './support/db.js';
import { poll, sleep, until } from './support/wait.js';

const ME = '/external/v1/me';
// A request slower than this is taken as hung: a check against hangs, not a latency target.
const HANG_MS = 10_000;
const UNAVAILABLE = /database is unavailable/i;

type Operation =
  | 'create'
  | 'list'
  | 'me-cached'
  | 'me-uncached'
  | 'me-unknown'
  | 'suspend'
  | 'revoke'
  | 'ready'
  | 'live';

interface Answer {
  operation: Operation;
  status: number;
  body: unknown;
  startedAt: number;
  ms: number;
}

type KeyStatus = 'ACTIVE' | 'SUSPENDED' | 'REVOKED';

/** A key whose creation was acknowledged, and the statuses it may have now. */
interface Acknowledged {
  id: string;
  statuses: KeyStatus[];
}

type User = Awaited<ReturnType<typeof newUser>>;

/**
 * Sends requests of every kind over real HTTP until stopped, and keeps each answer with its
 * timing. Keys it creates and changes successfully are remembered as acknowledged.
 */
class RequestLoop {
  readonly answers: Answer[] = [];
  readonly acknowledged = new Map<string, Acknowledged>();
  private readonly untouched: string[] = [];
  private readonly fresh: string[];
  private stopped = false;
  private changes = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly user: User,
    private readonly cachedKey: string,
    freshKeys: string[],
  ) {
    this.fresh = [...freshKeys];
  }

  /** Suspensions and revocations answered 200 so far. */
  get changesAcknowledged(): number {
    return [...this.acknowledged.values()].filter((key) => !key.statuses.includes('ACTIVE')).length;
  }

  /** Acknowledged keys no request has tried to change yet. */
  get changeable(): number {
    return this.untouched.length;
  }

  /** Takes `count` unchanged keys out of the loop's reach, to give back with `giveBack`. */
  setAside(count: number): string[] {
    return this.untouched.splice(0, count);
  }

  giveBack(ids: string[]): void {
    this.untouched.unshift(...ids);
  }

  run(workers: number): () => Promise<void> {
    const running = Promise.all(Array.from({ length: workers }, (_, i) => this.work(i)));

    return async () => {
      this.stopped = true;
      await running;
    };
  }

  private async work(worker: number): Promise<void> {
    for (let round = 0; !this.stopped; round++) {
      await this.create(worker, round);
      await this.send('list', 'GET', '/api/api-keys?limit=5', this.user.auth);
      await this.send('me-cached', 'GET', ME, { 'X-API-Key': this.cachedKey });
      await this.meUncached();
      // Every other round, so that acknowledged keys are left to change during the outage.
      if (round % 2 === 1) await this.change(this.changes++ % 2 === 0 ? 'suspend' : 'revoke');
      await this.send('ready', 'GET', '/health/ready');
      await this.send('live', 'GET', '/health');
      await sleep(20);
    }
  }

  private async create(worker: number, round: number): Promise<void> {
    const body = { name: `outage ${worker}.${round}`, permissions: ['IDENTITY'] };
    const answer = await this.send('create', 'POST', '/api/api-keys', this.user.auth, body);
    const id = (answer.body as { apiKey?: { id?: string } } | null)?.apiKey?.id;
    if (answer.status === 201 && id) {
      this.acknowledged.set(id, { id, statuses: ['ACTIVE'] });
      this.untouched.push(id);
    }
  }

  /** Valid keys for `meUncached`, each used until it has been admitted once. */
  addFreshKeys(keys: string[]): void {
    this.fresh.push(...keys);
  }

  /**
   * /me with a key the app cannot answer from its cache: a valid key not verified yet, or
   * when there is none left, a well-formed key nobody made.
   */
  private async meUncached(): Promise<void> {
    const key = this.fresh[0];
    if (!key) {
      const unknown = `agpt_${randomBytes(32).toString('base64url')}`;
      await this.send('me-unknown', 'GET', ME, { 'X-API-Key': unknown });

      return;
    }

    const answer = await this.send('me-uncached', 'GET', ME, { 'X-API-Key': key });
    if (answer.status === 200 && this.fresh[0] === key) this.fresh.shift();
  }

  /** Changes a key no other request touched, so an acknowledged change has one outcome. */
  private async change(operation: 'suspend' | 'revoke'): Promise<void> {
    const id = this.untouched.shift();
    if (!id) return;

    const method = operation === 'revoke' ? 'DELETE' : 'POST';
    const path = operation === 'revoke' ? `/api/api-keys/${id}` : `/api/api-keys/${id}/suspend`;
    const answer = await this.send(operation, method, path, this.user.auth);
    const target = operation === 'revoke' ? 'REVOKED' : 'SUSPENDED';
    // A change that was not acknowledged may or may not have been committed.
    const statuses: KeyStatus[] = answer.status === 200 ? [target] : ['ACTIVE', target];
    this.acknowledged.set(id, { id, statuses });
  }

  private async send(
    operation: Operation,
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ): Promise<Answer> {
    const startedAt = Date.now();
    let status = 0;
    let parsed: unknown = null;
    try {
      const response = await fetch(this.baseUrl + path, {
        method,
        headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(HANG_MS * 2),
      });
      status = response.status;
      const text = await response.text();
      parsed = text ? JSON.parse(text) : null;
    } catch (error) {
      parsed = { failure: error instanceof Error ? error.message : String(error) };
    }
    const answer = { operation, status, body: parsed, startedAt, ms: Date.now() - startedAt };
    this.answers.push(answer);

    return answer;
  }
}

/** What is wrong with one answer, or undefined when it is a correct 2xx or a proper 503. */
function problemWith(answer: Answer, user: User, cachedKeyId: string): string | undefined {
  const { operation, status, body, ms } = answer;
  const where = `${operation} answered ${status} in ${ms} ms: ${JSON.stringify(body)}`;
  if (ms >= HANG_MS) return `too slow (hang check): ${where}`;
  if (operation === 'live') return status === 200 ? undefined : where;
  if (operation === 'ready') return readinessProblem(status, body) ? where : undefined;
  if (status === 503) return unavailableProblem(body) ? where : undefined;

  const ok = successProblem(operation, status, body as Record<string, never>, user, cachedKeyId);

  return ok ? `${ok}: ${where}` : undefined;
}

function readinessProblem(status: number, body: unknown): boolean {
  const state = (body as { status?: string } | null)?.status;

  return !((status === 200 && state === 'ok') || (status === 503 && state === 'error'));
}

function unavailableProblem(body: unknown): boolean {
  const error = body as { statusCode?: number; message?: unknown; error?: string } | null;

  return !(
    error?.statusCode === 503 &&
    error.error === 'Service Unavailable' &&
    typeof error.message === 'string' &&
    UNAVAILABLE.test(error.message)
  );
}

function successProblem(
  operation: Operation,
  status: number,
  body: Record<string, never>,
  user: User,
  cachedKeyId: string,
): string | undefined {
  switch (operation) {
    case 'create':
      return status === 201 && body.apiKey?.['status'] === 'ACTIVE' ? undefined : 'bad create';
    case 'list':
      return status === 200 && Array.isArray(body.items) ? undefined : 'bad list';
    case 'me-cached':
      return status === 200 && body.userId === user.id && body.keyId === cachedKeyId
        ? undefined
        : 'bad /me';
    case 'me-uncached':
      return status === 200 && body.userId === user.id ? undefined : 'bad /me';
    case 'me-unknown':
      return status === 401 && body.message === 'Invalid API key' ? undefined : 'bad refusal';
    case 'suspend':
      return status === 200 && body.status === 'SUSPENDED' ? undefined : 'bad suspend';
    case 'revoke':
      return status === 200 && body.status === 'REVOKED' ? undefined : 'bad revoke';
    default:
      return 'unexpected operation';
  }
}

describe('the service while its database stops and starts again', () => {
  let dataDir: string;
  let port: number;
  let url: string;
  let postgres: RunningPostgres | undefined;
  let t: TestApp | undefined;
  let user: User;
  let cached: { id: string; key: string };
  let loop: RequestLoop;
  let stopLoop: (() => Promise<void>) | undefined;
  let stoppedAt = 0;

  beforeAll(async () => {
    dataDir = await tempDataDir();
    port = await freePort();
    postgres = await startEmbeddedPostgres(dataDir, { port });
    url = postgres.url;
    await applyMigrations(url);
    t = await startTestApp({
      DATABASE_URL: url,
      // Unknown keys are part of the load; the failed-attempt limit is not under test here.
      AUTH_FAILURES_PER_MINUTE_PER_KEY_HEAD: '100000',
      AUTH_FAILURES_PER_MINUTE_PER_ADDRESS: '100000',
    });
  }, 120_000);

  afterAll(async () => {
    await stopLoop?.();
    await t?.close();
    await postgres?.stop();
    await removeDir(dataDir);
  }, 60_000);

  it('answers every request during the outage with a correct 2xx or a 503, within seconds', async () => {
    const app = t!;
    user = await newUser(app.http);
    const cachedKey = await user.createKey();
    cached = { id: cachedKey.apiKey.id, key: cachedKey.plainTextKey };
    await app.http.get(ME).set('X-API-Key', cached.key).expect(200);
    const freshKeys = await Promise.all([1, 2, 3, 4, 5, 6].map(() => user.createKey()));
    const plainTextKeys = freshKeys.map((key) => key.plainTextKey);
    const baseUrl = (await app.app.getUrl()).replace('[::1]', '127.0.0.1');
    loop = new RequestLoop(baseUrl, user, cached.key, plainTextKeys.slice(0, 2));

    stopLoop = loop.run(3);
    await until(() => loop.changesAcknowledged >= 2 && loop.changeable >= 6, 20_000);
    const setAside = loop.setAside(6);
    await postgres!.stop();
    postgres = undefined;
    stoppedAt = Date.now();
    loop.addFreshKeys(plainTextKeys.slice(2));
    loop.giveBack(setAside);
    await sleep(4000);
    await stopLoop();
    stopLoop = undefined;

    const problems = loop.answers
      .map((answer) => problemWith(answer, user, cached.id))
      .filter(Boolean);
    expect(problems).toEqual([]);
    const unhandled = app.logs.lines.filter((line) => line.includes('Unhandled'));
    expect(unhandled).toEqual([]);
    for (const line of unhandled) expect(line).toMatch(/Unhandled Error\\n\s+at [^ ]*pg-pool/);
    const during = loop.answers.filter((answer) => answer.startedAt >= stoppedAt);
    const kinds = new Set(during.map((answer) => answer.operation));
    const everyKind = ['create', 'list', 'me-cached', 'me-uncached', 'suspend', 'revoke', 'ready'];
    expect([...kinds]).toEqual(expect.arrayContaining(everyKind));
    const needDatabase = during.filter(
      (answer) => !['me-cached', 'live'].includes(answer.operation),
    );
    expect(needDatabase.filter((answer) => answer.status !== 503)).toEqual([]);
  }, 60_000);

  it('answers 503 on /health/ready and 200 on /health while the database is down', async () => {
    const ready = await t!.http.get('/health/ready');

    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
    await t!.http.get('/health').expect(200);
  });

  it('becomes ready again without a restart once the database is back on the same port', async () => {
    postgres = await startEmbeddedPostgres(dataDir, { port });
    expect(postgres.url).toBe(url);

    const ready = await poll(
      () => t!.http.get('/health/ready'),
      (response) => response.status === 200,
      20_000,
    );

    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  }, 60_000);

  it('creates keys and admits them on /me again after the recovery', async () => {
    const { apiKey, plainTextKey } = await user.createKey();

    const me = await t!.http.get(ME).set('X-API-Key', plainTextKey).expect(200);

    expect(me.body).toEqual({ userId: user.id, keyId: apiKey.id, permissions: ['IDENTITY'] });
    await t!.http.get(ME).set('X-API-Key', cached.key).expect(200);
  });

  it('listens for key changes again: a cached key revoked in SQL is refused', async () => {
    const listeners = () =>
      query<{ count: number }>(
        `SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = $1`,
        ['api-keys-listener'],
        url,
      );
    const listening = await poll(listeners, (rows) => rows[0]!.count > 0, 40_000);
    expect(listening[0]!.count).toBe(1);
    const { apiKey, plainTextKey } = await user.createKey();
    await t!.http.get(ME).set('X-API-Key', plainTextKey).expect(200);
    const afterFirstUse = await scryptDerivations(t!);
    await t!.http.get(ME).set('X-API-Key', plainTextKey).expect(200);
    expect(await scryptDerivations(t!)).toBe(afterFirstUse);

    const revoke = `UPDATE api_keys SET status = 'REVOKED', "revokedAt" = now() WHERE id = $1`;
    await query(revoke, [apiKey.id], url);

    const me = () => t!.http.get(ME).set('X-API-Key', plainTextKey);
    const refused = await poll(me, (response) => response.status === 401, 3000);
    expect(refused.status).toBe(401);
  }, 60_000);

  it('refuses a key revoked through the API after the recovery on the very next request', async () => {
    const { apiKey, plainTextKey } = await user.createKey();
    await t!.http.get(ME).set('X-API-Key', plainTextKey).expect(200);

    await t!.http.delete(`/api/api-keys/${apiKey.id}`).set(user.auth).expect(200);

    const response = await t!.http.get(ME).set('X-API-Key', plainTextKey);
    expect(response.status).toBe(401);
    expect(response.body.message).toBe('Invalid API key');
  });

  it('keeps every key creation and change it acknowledged before or during the outage', async () => {
    const acknowledged = [...loop.acknowledged.values()];
    const changed = acknowledged.filter(({ statuses }) => !statuses.includes('ACTIVE'));
    expect(changed.length).toBeGreaterThan(0);

    const found = await Promise.all(
      acknowledged.map(async ({ id, statuses }) => {
        const response = await t!.http.get(`/api/api-keys/${id}`).set(user.auth);
        const status = response.status === 200 ? response.body.status : response.status;

        return { id, status: statuses.includes(status) ? statuses : status };
      }),
    );

    expect(found).toEqual(acknowledged.map(({ id, statuses }) => ({ id, status: statuses })));
  }, 30_000);

  it('still answers /health, so the process survived', async () => {
    await t!.http.get('/health').expect(200);
  });
});

describe('a start against a database nothing listens on', () => {
  let port: number;
  let databaseUrl: string;
  let dataDir: string;

  beforeAll(async () => {
    port = await freePort();
    databaseUrl = `postgresql://u:p@127.0.0.1:${port}/db`;
    dataDir = await tempDataDir();
  });

  afterAll(async () => {
    await removeDir(dataDir);
  });

  it('rejects createApp within seconds, naming the host and port', async () => {
    const startedAt = Date.now();

    const outcome = await createApp({
      config: testConfig({ DATABASE_URL: databaseUrl }),
      logDestination: new LogCapture(),
    }).then(
      async (app) => {
        await app.close();

        return new Error('createApp resolved');
      },
      (error: unknown) => error,
    );

    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toContain(
      `Cannot connect to the database at 127.0.0.1:${port}`,
    );
  }, 30_000);

  it('makes the built service exit non-zero with the reason on stderr', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      PORT: '0',
      DATA_DIR: dataDir,
    };
    delete env.NODE_ENV;
    const startedAt = Date.now();
    const child = spawn(process.execPath, ['dist/src/main.js'], { env, stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout.resume();

    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });

    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toContain(
      `Failed to start: Cannot connect to the database at 127.0.0.1:${port}`,
    );
  }, 30_000);
});
