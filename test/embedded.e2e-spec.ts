import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';

import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';

import { createApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config/app-config.js';
import { Database } from '../src/database/database.js';
import { LogCapture, newUserId, tokenFor } from './support/app.js';
import { removeDir, tempDataDir } from './support/db.js';

// initdb and a cold PostgreSQL start take a while, more so on a busy machine.
const SLOW = 180_000;

interface EmbeddedApp {
  app: NestExpressApplication;
  http: ReturnType<typeof request>;
  databaseUrl: string;
}

/** The app as `main.ts` starts it with no DATABASE_URL and no JWT_SECRET. */
async function startOn(dataDir: string): Promise<EmbeddedApp> {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  const app = await createApp({ config, logDestination: new LogCapture() });
  await app.listen(0, '127.0.0.1');

  return { app, http: request(app.getHttpServer()), databaseUrl: app.get(Database).url };
}

/** Whether something accepts TCP connections on the port of a database URL. */
function accepts(databaseUrl: string): Promise<boolean> {
  const { hostname, port } = new URL(databaseUrl);

  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function generatedSecret(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'jwt-secret'), 'utf8')).trim();
}

describe('the embedded database', () => {
  let dataDir: string;
  let running: EmbeddedApp | undefined;

  beforeEach(async () => {
    dataDir = await tempDataDir();
  });

  afterEach(async () => {
    await running?.app.close();
    running = undefined;
    await removeDir(dataDir);
  }, SLOW);

  it(
    'starts PostgreSQL under DATA_DIR when DATABASE_URL is unset, and is ready',
    async () => {
      running = await startOn(dataDir);

      await running.http.get('/health/ready').expect(200);
      expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
      expect(new URL(running.databaseUrl).hostname).toBe('127.0.0.1');
    },
    SLOW,
  );

  it(
    'writes a jwt-secret only its owner can read when JWT_SECRET is unset',
    async () => {
      running = await startOn(dataDir);

      const file = await stat(join(dataDir, 'jwt-secret'));
      expect(file.mode & 0o777).toBe(0o600);
      expect(Buffer.byteLength(await generatedSecret(dataDir))).toBeGreaterThanOrEqual(32);
    },
    SLOW,
  );

  it(
    'accepts user tokens signed with the generated secret',
    async () => {
      running = await startOn(dataDir);
      const token = await tokenFor(newUserId(), { secret: await generatedSecret(dataDir) });

      await running.http.get('/api/api-keys').set('Authorization', `Bearer ${token}`).expect(200);
    },
    SLOW,
  );

  it(
    'stops PostgreSQL when the app closes',
    async () => {
      running = await startOn(dataDir);
      const { databaseUrl } = running;
      expect(await accepts(databaseUrl)).toBe(true);

      await running.app.close();
      running = undefined;

      expect(await accepts(databaseUrl)).toBe(false);
    },
    SLOW,
  );

  it(
    'reuses the cluster, its secret and its keys on the next start',
    async () => {
      const userId = newUserId();
      running = await startOn(dataDir);
      const secret = await generatedSecret(dataDir);
      const auth = { Authorization: `Bearer ${await tokenFor(userId, { secret })}` };
      const created = await running.http
        .post('/api/api-keys')
        .set(auth)
        .send({ name: 'kept', permissions: ['IDENTITY'] })
        .expect(201);
      await running.app.close();
      running = undefined;

      running = await startOn(dataDir);

      expect(await generatedSecret(dataDir)).toBe(secret);
      const listed = await running.http.get('/api/api-keys').set(auth).expect(200);
      expect(listed.body.items.map((key: { id: string }) => key.id)).toEqual([
        created.body.apiKey.id,
      ]);
      await running.http
        .get('/external/v1/me')
        .set('X-API-Key', created.body.plainTextKey)
        .expect(200);
    },
    SLOW,
  );
});
