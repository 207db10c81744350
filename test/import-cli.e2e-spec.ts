import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import pg from 'pg';

import { newUserId, startTestApp, TEST_JWT_SECRET, TestApp, tokenFor } from './support/app.js';
import { createFreshDatabase, dropFreshDatabase } from './support/fresh-database.js';
import { AUTOGPT_FIXTURE } from './support/fixtures.js';

// `npm test` builds dist/ before jest runs; the CLI is run as users run it, from the build.
const CLI = resolve(process.cwd(), 'dist/src/cli/import-keys.js');
const FIXTURE = AUTOGPT_FIXTURE;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, JWT_SECRET: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** An AutoGPT legacy key row no other test has. */
function legacyRow(overrides: Record<string, unknown> = {}) {
  const plaintext = `agpt_${randomBytes(32).toString('base64url')}`;

  return {
    id: randomUUID(),
    userId: newUserId(),
    name: 'exported key',
    head: plaintext.slice(0, 8),
    tail: plaintext.slice(-8),
    hash: createHash('sha256').update(plaintext).digest('hex'),
    salt: null,
    permissions: ['IDENTITY'],
    status: 'ACTIVE',
    description: null,
    createdAt: '2025-04-01T00:00:00Z',
    lastUsedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

function jsonLines(rows: unknown[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

describe('the key import CLI (keys:import)', () => {
  let databaseUrl: string;
  let t: TestApp;
  let url: string;
  let adminToken: string;
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing; \`npm test\` builds it first`);
    databaseUrl = await createFreshDatabase();
    t = await startTestApp({ DATABASE_URL: databaseUrl });
    url = await t.app.getUrl();
    adminToken = await tokenFor(newUserId(), { admin: true });
    dir = await mkdtemp(join(tmpdir(), 'import-cli-'));
  });

  afterAll(async () => {
    await t?.close();
    if (databaseUrl) await dropFreshDatabase(databaseUrl);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function fileOf(name: string, content: string): Promise<string> {
    const path = join(dir, `${randomUUID()}-${name}`);
    await writeFile(path, content);

    return path;
  }

  async function stored(ids: string[]): Promise<number> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const result = await client.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM api_keys WHERE id = ANY($1::uuid[])',
        [ids],
      );

      return result.rows[0].count;
    } finally {
      await client.end();
    }
  }

  function importFile(file: string, extra: string[] = []): Promise<CliResult> {
    return runCli([file, '--url', url, '--token', adminToken, ...extra]);
  }

  it('imports the fixture file with a summary, then skips its rows the second time', async () => {
    const first = await importFile(FIXTURE);

    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `Imported 6 keys and skipped 0 already present, from 6 rows of ${FIXTURE} in 1 batches.`,
    );

    const second = await importFile(FIXTURE);

    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Imported 0 keys and skipped 6 already present');
  });

  it('imports a JSON Lines file', async () => {
    const rows = [legacyRow(), legacyRow(), legacyRow()];
    const file = await fileOf('keys.jsonl', jsonLines(rows));

    const result = await importFile(file);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Imported 3 keys and skipped 0 already present');
    await expect(stored(rows.map((row) => row.id))).resolves.toBe(3);
  });

  it('splits a large file into batches the service accepts', async () => {
    const rows = Array.from({ length: 1500 }, () => legacyRow());
    const file = await fileOf('many.jsonl', jsonLines(rows));

    const result = await importFile(file);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Imported 1500 keys and skipped 0 already present');
    const batchCount = Number(/in (\d+) batches/.exec(result.stdout)?.[1]);
    expect(batchCount).toBeGreaterThan(1);
    await expect(stored(rows.map((row) => row.id))).resolves.toBe(1500);
  });

  it('mints an admin token from JWT_SECRET when given none', async () => {
    const row = legacyRow();
    const file = await fileOf('keys.json', JSON.stringify([row]));

    const result = await runCli([file, '--url', url], { JWT_SECRET: TEST_JWT_SECRET });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Imported 1 keys');
    await expect(stored([row.id])).resolves.toBe(1);
  });

  it('exits non-zero naming the malformed line of a JSON Lines file', async () => {
    const row = legacyRow();
    const file = await fileOf('broken.jsonl', `${JSON.stringify(row)}\n\n{"id": "b",\n`);

    const result = await importFile(file);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${file}: line 3: not valid JSON`);
    await expect(stored([row.id])).resolves.toBe(0);
  });

  it('exits non-zero naming the line and column of a malformed JSON file', async () => {
    const file = await fileOf('broken.json', '[\n  {"id": "a"},\n  {"id": "b",}\n]\n');

    const result = await importFile(file);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${file}: line 3, column 14: not valid JSON`);
  });

  it('exits non-zero naming the row and field of an invalid row, importing no row', async () => {
    const rows = [legacyRow(), legacyRow({ hash: 'not-a-sha-256-digest' }), legacyRow()];
    const file = await fileOf('invalid.json', JSON.stringify({ keys: rows }, null, 2));

    const result = await importFile(file);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('refused a batch (400)');
    expect(result.stderr).toContain('row 2: hash must be 64 hexadecimal characters');
    await expect(stored(rows.map((row) => row.id))).resolves.toBe(0);
  });

  it('names the line of an invalid row in a JSON Lines file', async () => {
    const rows = [legacyRow(), legacyRow({ status: 'EXPIRED' })];
    const file = await fileOf(
      'invalid.jsonl',
      `${JSON.stringify(rows[0])}\n\n${JSON.stringify(rows[1])}\n`,
    );

    const result = await importFile(file);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('row 2 (line 3): status must be one of');
  });

  it("exits non-zero when the token is not an admin's", async () => {
    const row = legacyRow();
    const file = await fileOf('keys.json', JSON.stringify([row]));
    const userToken = await tokenFor(newUserId());

    const result = await runCli([file, '--url', url, '--token', userToken]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('refused a batch (403)');
    expect(result.stderr).toContain('This route is for admins only');
    await expect(stored([row.id])).resolves.toBe(0);
  });

  it('exits non-zero for a file holding no rows', async () => {
    const file = await fileOf('empty.jsonl', '\n\n');

    const result = await importFile(file);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${file} holds no rows`);
  });

  it('exits non-zero for a file it cannot read', async () => {
    const file = join(dir, 'missing.json');

    const result = await importFile(file);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`Cannot read ${file}`);
  });

  it('exits 2 with its usage when no file is given', async () => {
    const result = await runCli(['--url', url, '--token', adminToken]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: npm run keys:import -- <file.json|file.jsonl>');
  });

  it('exits non-zero when the service cannot be reached', async () => {
    const file = await fileOf('keys.json', JSON.stringify([legacyRow()]));
    // Port 9 (discard) is closed on loopback; nothing listens there.
    const result = await runCli([file, '--url', 'http://127.0.0.1:9', '--token', adminToken]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Cannot reach the service at http://127.0.0.1:9');
  });
});
