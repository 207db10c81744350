import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

import { freePort } from '../src/database/embedded-postgres.js';
import { newUser, startTestApp, TestApp } from './support/app.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const ME = '/external/v1/me';

/** A throwaway Redis on loopback, without persistence. */
async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let attempt = 0; attempt < 50; attempt++) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (ready) return redis;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  redis.kill();
  throw new Error('redis-server did not start');
}

describe('the failed-attempt limiter with REDIS_URL', () => {
  let redis: ChildProcess;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    if (!existsSync(REDIS_SERVER)) {
      throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run does)`);
    }
    const port = await freePort();
    redis = await startRedis(port);
    const env = {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      AUTH_FAILURES_PER_MINUTE_PER_KEY_HEAD: '4',
    };
    a = await startTestApp(env);
    b = await startTestApp(env);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    redis?.kill();
  });

  it('counts failures made on one instance against the client on every instance', async () => {
    const user = await newUser(a.http);
    const { plainTextKey } = await user.createKey();
    const wrong = `${plainTextKey.slice(0, -4)}${plainTextKey.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;

    for (let attempt = 0; attempt < 4; attempt++) {
      const instance = attempt % 2 === 0 ? a : b;
      await instance.http.get(ME).set('X-API-Key', wrong).expect(401);
    }

    for (const instance of [a, b]) {
      const response = await instance.http.get(ME).set('X-API-Key', wrong).expect(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('still admits a valid key, whose attempt is given back', async () => {
    const user = await newUser(a.http);
    const { plainTextKey } = await user.createKey();

    for (let attempt = 0; attempt < 6; attempt++) {
      await (attempt % 2 === 0 ? a : b).http.get(ME).set('X-API-Key', plainTextKey).expect(200);
    }
  });
});
