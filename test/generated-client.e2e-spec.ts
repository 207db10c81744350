import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Client, createClient } from './generated-client/client/index.js';
import {
  apiKeysControllerCreate,
  apiKeysControllerGet,
  apiKeysControllerList,
  apiKeysControllerReactivate,
  apiKeysControllerRevoke,
  apiKeysControllerRotate,
  apiKeysControllerSetPermissions,
  apiKeysControllerSuspend,
  meControllerMe,
} from './generated-client/index.js';
import { newUserId, startTestApp, TestApp, tokenFor } from './support/app.js';

const GENERATED_DIR = 'test/generated-client';

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

const openApi = JSON.parse(readFileSync('openapi.json', 'utf8')) as OpenApiDocument;

/** Nest's error body, which the document does not describe, so the client types it `unknown`. */
function nestError(statusCode: number, error: string) {
  return { statusCode, error, message: expect.anything() };
}

function documentedFields(schema: string): string[] {
  return Object.keys(openApi.components.schemas[schema]?.properties ?? {}).sort();
}

describe('a client generated from openapi.json', () => {
  let t: TestApp;
  let baseUrl: string;

  beforeAll(async () => {
    t = await startTestApp();
    baseUrl = await t.app.getUrl();
  });

  afterAll(async () => {
    await t?.close();
  });

  async function userClient(): Promise<{ userId: string; client: Client }> {
    const userId = newUserId();
    const token = await tokenFor(userId);

    return { userId, client: createClient({ baseUrl, auth: token }) };
  }

  const keyClient = (key: string) => createClient({ baseUrl, auth: key });

  it('runs a key through its whole lifecycle', async () => {
    const { userId, client } = await userClient();

    const created = await apiKeysControllerCreate({
      client,
      body: { name: 'generated client key', permissions: ['IDENTITY'], description: 'typed' },
    });
    expect(created.response.status).toBe(201);
    const { apiKey, plainTextKey } = created.data!;
    expect(apiKey).toMatchObject({ name: 'generated client key', status: 'ACTIVE', userId });
    expect(plainTextKey.startsWith(apiKey.head)).toBe(true);
    expect(plainTextKey.endsWith(apiKey.tail)).toBe(true);

    const listed = await apiKeysControllerList({ client });
    expect(listed.response.status).toBe(200);
    expect(listed.data).toEqual({ items: [apiKey], nextCursor: null });

    const fetched = await apiKeysControllerGet({ client, path: { id: apiKey.id } });
    expect(fetched.data).toEqual(apiKey);

    const updated = await apiKeysControllerSetPermissions({
      client,
      path: { id: apiKey.id },
      body: { permissions: ['IDENTITY', 'READ_GRAPH'] },
    });
    expect(updated.response.status).toBe(200);
    expect(updated.data?.permissions).toEqual(expect.arrayContaining(['IDENTITY', 'READ_GRAPH']));
    expect(updated.data?.permissions).toHaveLength(2);

    const suspended = await apiKeysControllerSuspend({ client, path: { id: apiKey.id } });
    expect(suspended.data?.status).toBe('SUSPENDED');
    const refused = await meControllerMe({ client: keyClient(plainTextKey) });
    expect(refused.response.status).toBe(401);

    const reactivated = await apiKeysControllerReactivate({ client, path: { id: apiKey.id } });
    expect(reactivated.data?.status).toBe('ACTIVE');

    const rotated = await apiKeysControllerRotate({
      client,
      path: { id: apiKey.id },
      body: { gracePeriodSeconds: 0 },
    });
    expect(rotated.response.status).toBe(201);
    const next = rotated.data!;
    expect(next.previous).toMatchObject({ id: apiKey.id, status: 'REVOKED' });
    expect(next.apiKey).toMatchObject({ name: 'generated client key', status: 'ACTIVE' });
    expect(next.apiKey.id).not.toBe(apiKey.id);

    const me = await meControllerMe({ client: keyClient(next.plainTextKey) });
    expect(me.response.status).toBe(200);
    expect(me.data).toEqual({
      userId,
      keyId: next.apiKey.id,
      permissions: expect.arrayContaining(['IDENTITY', 'READ_GRAPH']),
    });
    const oldKey = await meControllerMe({ client: keyClient(plainTextKey) });
    expect(oldKey.response.status).toBe(401);

    const revoked = await apiKeysControllerRevoke({ client, path: { id: next.apiKey.id } });
    expect(revoked.response.status).toBe(200);
    expect(revoked.data).toMatchObject({ status: 'REVOKED', revokedAt: expect.any(String) });
    const afterRevoke = await meControllerMe({ client: keyClient(next.plainTextKey) });
    expect(afterRevoke.response.status).toBe(401);
    expect(afterRevoke.error).toEqual(nestError(401, 'Unauthorized'));
  }, 30_000);

  it('answers 404 for a key that does not exist', async () => {
    const { client } = await userClient();

    const result = await apiKeysControllerGet({ client, path: { id: randomUUID() } });

    expect(result.response.status).toBe(404);
    expect(result.data).toBeUndefined();
    expect(result.error).toEqual(nestError(404, 'Not Found'));
  });

  it('answers 409 when suspending a revoked key', async () => {
    const { client } = await userClient();
    const created = await apiKeysControllerCreate({
      client,
      body: { name: 'to revoke', permissions: ['IDENTITY'] },
    });
    const id = created.data!.apiKey.id;
    await apiKeysControllerRevoke({ client, path: { id } });

    const result = await apiKeysControllerSuspend({ client, path: { id } });

    expect(result.response.status).toBe(409);
    expect(result.error).toEqual(nestError(409, 'Conflict'));
    const after = await apiKeysControllerGet({ client, path: { id } });
    expect(after.data?.status).toBe('REVOKED');
  });

  it('throws the error body when asked to', async () => {
    const { client } = await userClient();

    const call = apiKeysControllerGet({ client, path: { id: randomUUID() }, throwOnError: true });

    await expect(call).rejects.toEqual(nestError(404, 'Not Found'));
  });

  // The generated types come from the document, so a field the service answers or accepts
  // but does not document is invisible to typed clients.
  it('has a type for every field the service answers', async () => {
    const { client } = await userClient();
    const created = await apiKeysControllerCreate({
      client,
      body: { name: 'fields', permissions: ['IDENTITY'] },
    });
    const listed = await apiKeysControllerList({ client });
    const me = await meControllerMe({ client: keyClient(created.data!.plainTextKey) });

    const fields = (body: unknown) => Object.keys(body as object).sort();
    expect({
      CreatedApiKeyDto: fields(created.data),
      ApiKeyDto: fields(created.data!.apiKey),
      ApiKeyPageDto: fields(listed.data),
      IdentityDto: fields(me.data),
    }).toEqual({
      CreatedApiKeyDto: documentedFields('CreatedApiKeyDto'),
      ApiKeyDto: documentedFields('ApiKeyDto'),
      ApiKeyPageDto: documentedFields('ApiKeyPageDto'),
      IdentityDto: documentedFields('IdentityDto'),
    });
  });

  it('documents the paging parameters of the list, so a typed client can page', () => {
    const parameters = openApi.paths['/api/api-keys']?.get?.parameters ?? [];

    expect(parameters.map((parameter) => parameter.name).sort()).toEqual([
      'cursor',
      'limit',
      'status',
    ]);
  });
});

describe(`the committed client in ${GENERATED_DIR}`, () => {
  let fresh: string;

  beforeAll(() => {
    fresh = mkdtempSync(join(tmpdir(), 'generated-client-'));
  });

  afterAll(() => {
    rmSync(fresh, { recursive: true, force: true });
  });

  function filesUnder(dir: string): Record<string, string> {
    const names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
    const files = names.filter((name) => statSync(join(dir, name)).isFile()).sort();

    return Object.fromEntries(files.map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
  }

  it('is what `npm run client:generate` makes from openapi.json', () => {
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, never>)
      .scripts as Record<string, string>;
    const [command, ...args] = scripts['client:generate']!.split(' ');
    const output = args.indexOf(GENERATED_DIR);
    expect([command, args[output - 1]]).toEqual(['openapi-ts', '-o']);
    args[output] = fresh;

    execFileSync(join('node_modules', '.bin', command!), args, { stdio: 'pipe' });

    const committed = filesUnder(GENERATED_DIR);
    const stale = `${GENERATED_DIR} is stale: run \`npm run client:generate\``;
    expect({ stale, files: filesUnder(fresh) }).toEqual({ stale, files: committed });
  }, 60_000);
});
